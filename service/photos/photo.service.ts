// Uploads (presigned or through the API), photo creation after a content check, listing, feed, deletion and likes.
import crypto from 'node:crypto';
import type { DatabaseHandle } from '../db/database.js';
import { AppError, invalid, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { ObjectStorage, StoredObject } from '../storage/storage.js';
import { pendingKey, photoKeyOf } from '../storage/keys.js';
import { encodeCursor } from '../cursor.js';
import { IMAGE_TYPES, validateImage, type ImageType } from '../media/image.js';
import * as photoRepository from './photo.repository.js';
import * as uploadRepository from './upload.repository.js';
import * as userRepository from '../users/user.repository.js';
import type { PhotoRow } from './photo.repository.js';

/** A photo as the API returns it. */
export interface PhotoView {
  id: number;
  author: { id: number; username: string; displayName: string };
  caption: string;
  imageUrl: string;
  width?: number;
  height?: number;
  likes: number;
  likedByMe?: boolean;
  createdAt: string;
}

/** A page of photos. */
export interface PhotoPage {
  items: PhotoView[];
  nextCursor: string | null;
}

/** The repositories the photo service calls (the real modules unless a test passes fakes). */
export interface PhotoRepositories {
  photos: typeof photoRepository;
  uploads: typeof uploadRepository;
  users: Pick<typeof userRepository, 'findIdByUsername'>;
}

/** Dependencies of the photo service. */
export interface PhotoServiceDeps {
  db: DatabaseHandle;
  storage: ObjectStorage;
  log: Logger;
  maxUploadBytes: number;
  /** Open uploads (not yet a photo, not expired) one account may hold. */
  maxOpenUploads: number;
  /** An upload not turned into a photo within this time expires (410 upload_expired; the sweeper deletes it). */
  uploadTtlSeconds: number;
  cdnBaseUrl: string;
  publicApiUrl: string;
  /** Evicts cached profiles whose photo counts changed. */
  invalidateProfiles: (...ids: number[]) => Promise<void>;
  repositories?: PhotoRepositories;
}

/** The public URL of the image `key`: under the CDN base URL when there is one, else the API's /images/ route. */
export function imageUrl(key: string, cdnBaseUrl: string, publicApiUrl: string): string {
  const cdn = cdnBaseUrl.replace(/\/+$/, '');
  return cdn ? `${cdn}/${key}` : `${publicApiUrl.replace(/\/+$/, '')}/images/${key}`;
}

/** Creates the photo service. */
export function createPhotoService(deps: PhotoServiceDeps) {
  const { db, storage, log } = deps;
  const { photos, uploads, users } = deps.repositories ?? { photos: photoRepository, uploads: uploadRepository, users: userRepository };

  function view(p: PhotoRow, viewerId: number | null): PhotoView {
    const v: PhotoView = { id: p.id, author: p.author, caption: p.caption, imageUrl: imageUrl(p.key, deps.cdnBaseUrl, deps.publicApiUrl), likes: p.likes, createdAt: p.createdAt };
    if (p.width !== null) v.width = p.width;
    if (p.height !== null) v.height = p.height;
    if (viewerId !== null) v.likedByMe = p.likedByMe;
    return v;
  }

  function page(rows: PhotoRow[], limit: number, viewerId: number | null): PhotoPage {
    const items = rows.slice(0, limit).map((r) => view(r, viewerId));
    return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!.id) : null };
  }

  async function discard(key: string): Promise<void> {
    await storage.delete(key).catch((err: unknown) => log.warn('could not delete a rejected upload', { key, err }));
  }

  async function ownUpload(userId: number, uploadId: string) {
    const up = await uploads.findUpload(db.write(), uploadId, deps.uploadTtlSeconds);
    if (!up || up.userId !== userId) throw new AppError('upload_not_found', `uploadId: no upload ${uploadId} of yours`, { field: 'uploadId' });
    if (up.consumed) throw new AppError('upload_already_used', `uploadId: upload ${uploadId} already belongs to a photo`, { field: 'uploadId' });
    if (up.expired) throw new AppError('upload_expired', `uploadId: upload ${uploadId} expired (uploads must become a photo within ${deps.uploadTtlSeconds} s); create a new one`, { field: 'uploadId' });
    return up;
  }

  function checkContent(body: Buffer, declared: string): { width: number | null; height: number | null } {
    const info = validateImage(body);
    if (info.type !== declared) throw new AppError('content_type_mismatch', `content: is ${info.type} but contentType said ${declared}`, { field: 'content' });
    return { width: info.width ?? null, height: info.height ?? null };
  }

  return {
    /** Registers an upload and says where to PUT the bytes. */
    async createUpload(userId: number, contentType: string, size: number): Promise<{ uploadId: string; method: 'PUT'; url: string; headers: Record<string, string> }> {
      if (!(contentType in IMAGE_TYPES)) throw new AppError('unsupported_media_type', `contentType: must be one of ${Object.keys(IMAGE_TYPES).join(', ')}`, { field: 'contentType' });
      if (size > deps.maxUploadBytes) throw invalid('size', `${size} bytes is more than the limit of ${deps.maxUploadBytes}`);
      const uploadId = crypto.randomBytes(16).toString('base64url');
      const key = pendingKey(uploadId, IMAGE_TYPES[contentType as ImageType]);
      await db.transaction(async (tx) => {
        await uploads.lockOwner(tx, userId);
        const open = await uploads.countOpenUploads(tx, userId, deps.uploadTtlSeconds);
        if (open >= deps.maxOpenUploads) throw new AppError('too_many_open_uploads', `you have ${open} uploads that are not photos yet (at most ${deps.maxOpenUploads}); create photos from them or wait until they expire`);
        await uploads.insertUpload(tx, { id: uploadId, userId, key, contentType, declaredSize: size });
      }, userId);
      const presigned = await storage.presignPut(key, contentType, size);
      if (presigned) return { uploadId, method: 'PUT', ...presigned };
      return { uploadId, method: 'PUT', url: `${deps.publicApiUrl}/api/v1/uploads/${uploadId}/content`, headers: { 'Content-Type': contentType } };
    },

    /** The most bytes a PUT to the upload may carry (its declared size), after checking it is the caller's. */
    async uploadLimit(userId: number, uploadId: string): Promise<number> {
      if (storage.kind === 's3') throw new AppError('use_presigned_url', 'uploads go to the presigned URL returned by POST /api/v1/uploads');
      const up = await ownUpload(userId, uploadId);
      return Math.min(up.declaredSize, deps.maxUploadBytes);
    },

    /** Stores bytes PUT through the API (volume and origin storage). */
    async putContent(userId: number, uploadId: string, body: Buffer): Promise<void> {
      const up = await ownUpload(userId, uploadId);
      if (body.length === 0) throw new AppError('validation_failed', 'content: is empty', { field: 'content' });
      if (body.length > up.declaredSize || body.length > deps.maxUploadBytes) throw new AppError('upload_too_large', `content: more bytes than the declared size ${up.declaredSize}`, { field: 'content' });
      checkContent(body, up.contentType);
      await storage.put(up.key, body, up.contentType);
    },

    /** Turns a finished upload into a photo after checking its size and leading bytes. */
    async createPhoto(userId: number, uploadId: string, caption: string): Promise<PhotoView> {
      const up = await ownUpload(userId, uploadId);
      const stat = await storage.stat(up.key);
      if (stat === null) throw new AppError('upload_incomplete', `uploadId: nothing was uploaded for ${uploadId} yet`, { field: 'uploadId' });
      const size = stat.size;
      // On S3 the client's PUT set the stored type, and it is what the bucket answers with: it must be the declared one.
      if (stat.contentType.split(';')[0]!.trim().toLowerCase() !== up.contentType) {
        await discard(up.key);
        throw new AppError('content_type_mismatch', `content: was stored as ${stat.contentType} but contentType said ${up.contentType}`, { field: 'content' });
      }
      if (size > deps.maxUploadBytes || size > up.declaredSize) {
        await discard(up.key);
        throw new AppError('upload_too_large', `content: ${size} bytes is more than allowed (${Math.min(up.declaredSize, deps.maxUploadBytes)})`, { field: 'content' });
      }
      let dims: { width: number | null; height: number | null };
      try {
        // The whole object (at most the upload limit, checked above): a truncated or padded body is refused too.
        dims = checkContent(size === 0 ? Buffer.alloc(0) : await storage.head(up.key, size), up.contentType);
      } catch (err) {
        if (err instanceof AppError) await discard(up.key);
        throw err;
      }
      const key = photoKeyOf(up.key);
      const id = await db.transaction(async (tx) => {
        // Consuming locks the upload row: a concurrent creation waits here and then finds it used.
        if (!(await uploads.consumeUpload(tx, uploadId, deps.uploadTtlSeconds))) throw new AppError('upload_already_used', `uploadId: upload ${uploadId} already belongs to a photo or has expired`, { field: 'uploadId' });
        // Out of the pending prefix into the public one; if this fails the transaction rolls back and the upload stays open.
        // A slot created before pending uploads had their own prefix already holds a photos/ key: nothing to move.
        if (key !== up.key) await storage.promote(up.key, key, up.contentType);
        return await photos.insertPhoto(tx, { userId, key, caption, contentType: up.contentType, size, ...dims });
      }, userId);
      await deps.invalidateProfiles(userId);
      const row = await photos.findPhoto(db.write(), id, userId);
      if (!row) throw new Error(`photo ${id} vanished right after it was created`);
      return view(row, userId);
    },

    /** One photo. */
    async get(id: number, viewerId: number | null): Promise<PhotoView> {
      // A replica may not have replayed a photo created a moment ago (a link shared at once): ask the primary before a 404.
      const row = (await photos.findPhoto(db.read(viewerId), id, viewerId)) ?? (await photos.findPhoto(db.write(), id, viewerId));
      if (!row) throw notFound(`photo ${id}`);
      return view(row, viewerId);
    },

    /** A page of `username`'s photos, newest first. */
    async listByUser(username: string, viewerId: number | null, before: number | null, limit: number): Promise<PhotoPage> {
      const q = db.read(viewerId);
      // As for one photo: the primary before a 404, for an account signed up a moment ago.
      const userId = (await users.findIdByUsername(q, username)) ?? (await users.findIdByUsername(db.write(), username));
      if (userId === null) throw notFound(`user ${username}`);
      return page(await photos.listByUser(q, userId, before, limit + 1, viewerId), limit, viewerId);
    },

    /** A page of the viewer's feed: photos by the people they follow and by themselves, newest first. */
    async feed(viewerId: number, before: number | null, limit: number): Promise<PhotoPage> {
      return page(await photos.feed(db.read(viewerId), viewerId, before, limit + 1), limit, viewerId);
    },

    /** Deletes the caller's own photo and its image. */
    async delete(userId: number, id: number): Promise<void> {
      const owner = await photos.findOwner(db.write(), id);
      if (!owner) throw notFound(`photo ${id}`);
      if (owner.userId !== userId) throw new AppError('forbidden', `photo ${id} is not yours`);
      if (!(await photos.deletePhoto(db.write(userId), id, userId))) throw notFound(`photo ${id}`);
      await deps.invalidateProfiles(userId);
      await storage.delete(owner.key).catch((err: unknown) => log.warn('could not delete the image of a deleted photo', { key: owner.key, err }));
    },

    /** Likes or unlikes a photo (idempotent). */
    async setLike(userId: number, id: number, on: boolean): Promise<void> {
      if (!(await photos.setLike(db.write(userId), id, userId, on))) throw notFound(`photo ${id}`);
    },

    /** The image for GET /images/<key>: a redirect URL (S3) or a stream (volume, origin). */
    async image(key: string): Promise<{ redirect: string; object?: undefined } | { redirect?: undefined; object: StoredObject }> {
      // A pending upload is not public: only a photo's object is served (ask the primary before refusing, for a photo created a moment ago).
      if (!(await photos.isPhotoKey(db.read(null), key)) && !(await photos.isPhotoKey(db.write(), key))) throw notFound('image');
      const url = await storage.presignGet(key);
      if (url) return { redirect: url };
      const obj = await storage.get(key);
      if (!obj) throw notFound('image');
      return { object: obj };
    },
  };
}

/** The photo service's interface. */
export type PhotoService = ReturnType<typeof createPhotoService>;
