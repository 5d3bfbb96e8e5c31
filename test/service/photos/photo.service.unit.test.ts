import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { statusOf } from '../../../service/http/middleware.js';
import { AppError } from '../../../service/errors.js';
import { cursor } from '../../../service/http/validate.js';
import { encodeCursor } from '../../../service/cursor.js';
import { createPhotoService, imageUrl, type PhotoRepositories } from '../../../service/photos/photo.service.js';
import type { PhotoRow } from '../../../service/photos/photo.repository.js';
import type { Upload } from '../../../service/photos/upload.repository.js';
import type { Queryable } from '../../../service/db/database.js';
import { FakeDb, MemoryStorage, memoryLogger, pngBytes, poolOf } from '../fakes.js';

use(chaiAsPromised);

const ALICE = 1;
const BOB = 2;

/** In-memory photo, upload and user repositories with the real modules' signatures. */
function fakeRepositories() {
  const uploads = new Map<string, Upload>();
  const photos = new Map<number, PhotoRow & { userId: number; likers: Set<number> }>();
  const usernames = new Map([
    ['alice', ALICE],
    ['bob', BOB],
  ]);
  const reads: string[] = [];
  let nextId = 1;
  let consumeRace = false;
  const rowFor = (p: PhotoRow & { userId: number; likers: Set<number> }, viewerId: number | null): PhotoRow => {
    const { userId: _u, likers, ...row } = p;
    return { ...row, likes: likers.size, likedByMe: viewerId !== null && likers.has(viewerId) };
  };
  const repos: PhotoRepositories = {
    uploads: {
      insertUpload: async (_q, u) => void uploads.set(u.id, { ...u, consumed: false, expired: false }),
      lockOwner: async () => undefined,
      countOpenUploads: async (_q, userId) => [...uploads.values()].filter((u) => u.userId === userId && !u.consumed && !u.expired).length,
      lockExpiredUploads: async () => [],
      deleteUploads: async () => undefined,
      findUpload: async (_q, id) => (uploads.has(id) ? { ...uploads.get(id)! } : null),
      consumeUpload: async (_q, id) => {
        const u = uploads.get(id);
        if (!u || u.consumed || consumeRace) return false;
        u.consumed = true;
        return true;
      },
    },
    photos: {
      insertPhoto: async (_q, p) => {
        const id = nextId++;
        const author = { id: p.userId, username: p.userId === ALICE ? 'alice' : 'bob', displayName: p.userId === ALICE ? 'Alice' : 'Bob' };
        photos.set(id, { id, key: p.key, caption: p.caption, width: p.width, height: p.height, createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, id)).toISOString(), likes: 0, likedByMe: false, author, userId: p.userId, likers: new Set() });
        return id;
      },
      findPhoto: async (q: Queryable, id, viewerId) => {
        reads.push(poolOf(q));
        const p = photos.get(id);
        return p ? rowFor(p, viewerId) : null;
      },
      listByUser: async (q, userId, before, limit, viewerId) => {
        reads.push(poolOf(q));
        return [...photos.values()].filter((p) => p.userId === userId && (before === null || p.id < before)).sort((a, b) => b.id - a.id).slice(0, limit).map((p) => rowFor(p, viewerId));
      },
      feed: async (q, viewerId, before, limit) => {
        reads.push(poolOf(q));
        return [...photos.values()].filter((p) => before === null || p.id < before).sort((a, b) => b.id - a.id).slice(0, limit).map((p) => rowFor(p, viewerId));
      },
      isPhotoKey: async (_q, key) => [...photos.values()].some((p) => p.key === key),
      findOwner: async (_q, id) => (photos.has(id) ? { userId: photos.get(id)!.userId, key: photos.get(id)!.key } : null),
      deletePhoto: async (_q, id, userId) => photos.get(id)?.userId === userId && photos.delete(id),
      setLike: async (_q, id, userId, on) => {
        const p = photos.get(id);
        if (!p) return false;
        if (on) p.likers.add(userId);
        else p.likers.delete(userId);
        return true;
      },
    },
    users: { findIdByUsername: async (_q, username) => usernames.get(username) ?? null },
  };
  return { repos, uploads, photos, reads, raceConsume: () => (consumeRace = true) };
}

function setup(opts: { kind?: 's3' | 'volume' | 'origin'; cdnBaseUrl?: string; maxUploadBytes?: number } = {}) {
  const db = new FakeDb();
  const storage = new MemoryStorage(opts.kind ?? 'volume');
  const fake = fakeRepositories();
  const { log, lines } = memoryLogger();
  const invalidated: number[][] = [];
  const service = createPhotoService({
    db,
    storage,
    log,
    maxUploadBytes: opts.maxUploadBytes ?? 1000,
    maxOpenUploads: 3,
    uploadTtlSeconds: 3600,
    cdnBaseUrl: opts.cdnBaseUrl ?? '',
    publicApiUrl: 'https://api.example.com',
    invalidateProfiles: async (...ids) => void invalidated.push(ids),
    repositories: fake.repos,
  });
  return { db, storage, service, ...fake, lines, invalidated };
}

async function rejectsWith(p: Promise<unknown>, status: number, code: string): Promise<AppError> {
  const err = (await expect(p).to.be.rejectedWith(AppError)) as unknown as AppError;
  expect({ status: statusOf(err.code), code: err.code }).to.deep.equal({ status, code });
  return err;
}

/** Uploads `bytes` through the service as `userId` and returns the upload id. */
async function upload(s: ReturnType<typeof setup>, userId: number, bytes: Buffer, contentType = 'image/png'): Promise<string> {
  const { uploadId } = await s.service.createUpload(userId, contentType, bytes.length);
  await s.service.putContent(userId, uploadId, bytes);
  return uploadId;
}

describe('imageUrl', () => {
  const key = 'photos/AbCdEfGhIjKlMnOpQrSt_-.jpg';
  it('puts the key under the CDN base URL, with or without a trailing slash', () => {
    expect(imageUrl(key, 'https://cdn.example.com', 'https://api.example.com')).to.equal(`https://cdn.example.com/${key}`);
    expect(imageUrl(key, 'https://cdn.example.com/img/', 'https://api.example.com')).to.equal(`https://cdn.example.com/img/${key}`);
  });
  it('uses the API /images/ route without a CDN', () => {
    expect(imageUrl(key, '', 'https://api.example.com/')).to.equal(`https://api.example.com/images/${key}`);
    expect(imageUrl(key, '', '')).to.equal(`/images/${key}`);
  });
});

describe('photo service (fake repositories)', () => {
  describe('createUpload', () => {
    it('refuses other content types naming contentType', async () => {
      const err = await rejectsWith(setup().service.createUpload(ALICE, 'image/svg+xml', 10), 415, 'unsupported_media_type');
      expect(err.field).to.equal('contentType');
    });
    it('refuses a declared size over the limit as invalid input naming size (400: the body itself is small)', async () => {
      const err = await rejectsWith(setup({ maxUploadBytes: 100 }).service.createUpload(ALICE, 'image/png', 101), 400, 'validation_failed');
      expect(err.field).to.equal('size');
    });
    it('sends volume uploads through the API and records the upload as a write', async () => {
      const s = setup();
      const res = await s.service.createUpload(ALICE, 'image/jpeg', 500);
      expect(res.uploadId).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(res).to.deep.include({ method: 'PUT', url: `https://api.example.com/api/v1/uploads/${res.uploadId}/content`, headers: { 'Content-Type': 'image/jpeg' } });
      expect(s.uploads.get(res.uploadId)).to.deep.include({ userId: ALICE, key: `uploads/${res.uploadId}.jpg`, declaredSize: 500, contentType: 'image/jpeg' });
      expect(s.db.noted).to.deep.equal([ALICE]);
    });
    it('returns a presigned PUT for S3', async () => {
      const res = await setup({ kind: 's3' }).service.createUpload(ALICE, 'image/webp', 10);
      expect(res.url).to.equal(`https://s3.test/bucket/uploads/${res.uploadId}.webp?sig=put`);
    });
  });

  describe('uploadLimit and putContent', () => {
    it('points S3 clients to the presigned URL', async () => {
      const s = setup({ kind: 's3' });
      const { uploadId } = await s.service.createUpload(ALICE, 'image/png', 10);
      await rejectsWith(s.service.uploadLimit(ALICE, uploadId), 409, 'use_presigned_url');
    });
    it('limits the body to the declared size', async () => {
      const s = setup();
      const { uploadId } = await s.service.createUpload(ALICE, 'image/png', 40);
      expect(await s.service.uploadLimit(ALICE, uploadId)).to.equal(40);
    });
    it('hides other users\' uploads as not found', async () => {
      const s = setup();
      const { uploadId } = await s.service.createUpload(ALICE, 'image/png', 40);
      await rejectsWith(s.service.uploadLimit(BOB, uploadId), 404, 'upload_not_found');
      await rejectsWith(s.service.putContent(BOB, uploadId, pngBytes()), 404, 'upload_not_found');
    });
    it('refuses empty, oversized, non-image and mismatched content without storing it', async () => {
      const s = setup();
      const { uploadId } = await s.service.createUpload(ALICE, 'image/jpeg', 100);
      await rejectsWith(s.service.putContent(ALICE, uploadId, Buffer.alloc(0)), 400, 'validation_failed');
      await rejectsWith(s.service.putContent(ALICE, uploadId, Buffer.alloc(101)), 413, 'upload_too_large');
      await rejectsWith(s.service.putContent(ALICE, uploadId, Buffer.from('<html><script>x</script></html>')), 415, 'not_an_image');
      const err = await rejectsWith(s.service.putContent(ALICE, uploadId, pngBytes()), 415, 'content_type_mismatch');
      expect(err.message).to.equal('content: is image/png but contentType said image/jpeg');
      expect(s.storage.objects.size).to.equal(0);
    });
  });

  describe('open uploads', () => {
    it('caps the open uploads of one account (429 too_many_open_uploads), counting neither photos nor other accounts', async () => {
      const s = setup();
      const first = await upload(s, ALICE, pngBytes());
      await s.service.createUpload(ALICE, 'image/png', 40);
      await s.service.createUpload(ALICE, 'image/png', 40);
      await rejectsWith(s.service.createUpload(ALICE, 'image/png', 40), 429, 'too_many_open_uploads');
      await s.service.createUpload(BOB, 'image/png', 40);
      await s.service.createPhoto(ALICE, first, '');
      await s.service.createUpload(ALICE, 'image/png', 40);
    });
    it('refuses an expired upload with 410 upload_expired, for content and for a photo', async () => {
      const s = setup();
      const uploadId = await upload(s, ALICE, pngBytes());
      s.uploads.get(uploadId)!.expired = true;
      await rejectsWith(s.service.putContent(ALICE, uploadId, pngBytes()), 410, 'upload_expired');
      await rejectsWith(s.service.createPhoto(ALICE, uploadId, ''), 410, 'upload_expired');
    });
  });

  describe('createPhoto', () => {
    it('turns an upload into a photo with dimensions, consumes it and evicts the author\'s profile', async () => {
      const s = setup();
      const uploadId = await upload(s, ALICE, pngBytes(640, 480));
      const photo = await s.service.createPhoto(ALICE, uploadId, 'sunset');
      expect(photo).to.deep.include({ id: 1, caption: 'sunset', width: 640, height: 480, likes: 0, likedByMe: false, imageUrl: `https://api.example.com/images/photos/${uploadId}.png` });
      expect(photo.author).to.deep.equal({ id: ALICE, username: 'alice', displayName: 'Alice' });
      expect(s.uploads.get(uploadId)!.consumed).to.equal(true);
      expect(s.invalidated).to.deep.equal([[ALICE]]);
      // One for the upload slot (the per-account cap), one for the photo.
      expect(s.db.transactions).to.equal(2);
      await rejectsWith(s.service.createPhoto(ALICE, uploadId, 'again'), 409, 'upload_already_used');
    });
    it('uses the CDN base URL for imageUrl when configured', async () => {
      const s = setup({ cdnBaseUrl: 'https://cdn.example.com/' });
      const photo = await s.service.createPhoto(ALICE, await upload(s, ALICE, pngBytes()), '');
      expect(photo.imageUrl).to.match(/^https:\/\/cdn\.example\.com\/photos\/[A-Za-z0-9_-]{22}\.png$/);
    });
    it('says upload_incomplete when nothing was uploaded', async () => {
      const s = setup();
      const { uploadId } = await s.service.createUpload(ALICE, 'image/png', 40);
      await rejectsWith(s.service.createPhoto(ALICE, uploadId, ''), 409, 'upload_incomplete');
    });
    it('deletes an object larger than declared (a presigned PUT cannot be trusted)', async () => {
      const s = setup({ kind: 's3' });
      const { uploadId } = await s.service.createUpload(ALICE, 'image/png', 10);
      await s.storage.put(`uploads/${uploadId}.png`, pngBytes(), 'image/png');
      await rejectsWith(s.service.createPhoto(ALICE, uploadId, ''), 413, 'upload_too_large');
      expect(s.storage.deleted).to.deep.equal([`uploads/${uploadId}.png`]);
    });
    it('deletes an object that is not an image of the declared type', async () => {
      const s = setup({ kind: 's3' });
      const { uploadId } = await s.service.createUpload(ALICE, 'image/png', 100);
      await s.storage.put(`uploads/${uploadId}.png`, Buffer.from('<svg onload="alert(1)"></svg>'), 'image/png');
      await rejectsWith(s.service.createPhoto(ALICE, uploadId, ''), 415, 'not_an_image');
      expect(s.storage.deleted).to.have.length(1);
      expect(s.photos.size).to.equal(0);
    });
    it('refuses the loser of a concurrent createPhoto race', async () => {
      const s = setup();
      const uploadId = await upload(s, ALICE, pngBytes());
      s.raceConsume();
      await rejectsWith(s.service.createPhoto(ALICE, uploadId, ''), 409, 'upload_already_used');
      expect(s.photos.size).to.equal(0);
    });
  });

  describe('reading', () => {
    async function withPhotos(n: number) {
      const s = setup();
      for (let i = 0; i < n; i++) await s.service.createPhoto(ALICE, await upload(s, ALICE, pngBytes()), `p${i + 1}`);
      return s;
    }

    it('shows likedByMe only to signed-in viewers and omits unknown dimensions', async () => {
      const s = await withPhotos(1);
      s.photos.get(1)!.width = null;
      s.photos.get(1)!.height = null;
      await s.service.setLike(BOB, 1, true);
      const anon = await s.service.get(1, null);
      expect(anon).to.not.have.any.keys('likedByMe', 'width', 'height');
      expect(anon.likes).to.equal(1);
      expect((await s.service.get(1, BOB)).likedByMe).to.equal(true);
      expect((await s.service.get(1, ALICE)).likedByMe).to.equal(false);
    });

    it('answers 404 for a missing photo, like, user', async () => {
      const s = setup();
      await rejectsWith(s.service.get(99, null), 404, 'not_found');
      await rejectsWith(s.service.setLike(ALICE, 99, true), 404, 'not_found');
      await rejectsWith(s.service.listByUser('carol', null, null, 20), 404, 'not_found');
    });

    it('pages newest first with a cursor only when there is more', async () => {
      const s = await withPhotos(5);
      const first = await s.service.listByUser('alice', null, null, 2);
      expect(first.items.map((p) => p.caption)).to.deep.equal(['p5', 'p4']);
      expect(first.nextCursor).to.equal(encodeCursor(4));
      const second = await s.service.listByUser('alice', null, cursor(first.nextCursor), 2);
      expect(second.items.map((p) => p.caption)).to.deep.equal(['p3', 'p2']);
      const last = await s.service.listByUser('alice', null, cursor(second.nextCursor), 2);
      expect(last.items.map((p) => p.caption)).to.deep.equal(['p1']);
      expect(last.nextCursor).to.equal(null);
      const exact = await s.service.feed(ALICE, null, 5);
      expect(exact.items).to.have.length(5);
      expect(exact.nextCursor).to.equal(null);
    });

    it('reads from a replica, but from the primary right after the viewer wrote', async () => {
      const s = await withPhotos(1);
      s.reads.length = 0;
      await s.service.get(1, BOB);
      await s.service.feed(ALICE, null, 20);
      expect(s.reads).to.deep.equal(['replica', 'primary']);
    });
  });

  describe('delete', () => {
    it('refuses to delete someone else\'s photo', async () => {
      const s = setup();
      await s.service.createPhoto(ALICE, await upload(s, ALICE, pngBytes()), '');
      await rejectsWith(s.service.delete(BOB, 1), 403, 'forbidden');
      expect(s.photos.size).to.equal(1);
    });
    it('deletes the row and the image and evicts the profile', async () => {
      const s = setup();
      const uploadId = await upload(s, ALICE, pngBytes());
      await s.service.createPhoto(ALICE, uploadId, '');
      await s.service.delete(ALICE, 1);
      expect(s.photos.size).to.equal(0);
      expect(s.storage.deleted).to.deep.equal([`photos/${uploadId}.png`]);
      expect(s.invalidated.at(-1)).to.deep.equal([ALICE]);
      await rejectsWith(s.service.delete(ALICE, 1), 404, 'not_found');
    });
    it('still succeeds when the image cannot be deleted, and logs it', async () => {
      const s = setup();
      await s.service.createPhoto(ALICE, await upload(s, ALICE, pngBytes()), '');
      s.storage.failDeletes = true;
      await s.service.delete(ALICE, 1);
      expect(s.lines.map((l) => l.msg)).to.include('could not delete the image of a deleted photo');
    });
  });

  describe('pending prefix', () => {
    it('makes a photo of a slot created before the uploads/ prefix (its key is already photos/) without moving or deleting it', async () => {
      const s = setup({ kind: 's3' });
      const { uploadId } = await s.service.createUpload(ALICE, 'image/png', 100);
      const legacy = `photos/${uploadId}.png`;
      s.uploads.get(uploadId)!.key = legacy;
      await s.storage.put(legacy, pngBytes(), 'image/png');
      const photo = await s.service.createPhoto(ALICE, uploadId, '');
      expect(photo.imageUrl).to.equal(`https://api.example.com/images/${legacy}`);
      expect(s.storage.objects.has(legacy)).to.equal(true);
      expect(s.storage.deleted).to.deep.equal([]);
    });
  });

  describe('image', () => {
    it('redirects to a presigned GET on S3 for a photo\'s object only', async () => {
      const s = setup({ kind: 's3' });
      await s.service.createUpload(ALICE, 'image/png', 100);
      const [up] = [...s.uploads.values()];
      await rejectsWith(s.service.image(up!.key), 404, 'not_found');
      await s.storage.put(up!.key, pngBytes(), 'image/png');
      await rejectsWith(s.service.image(up!.key), 404, 'not_found');
      await s.service.createPhoto(ALICE, up!.id, '');
      const photoKey = up!.key.replace('uploads/', 'photos/');
      expect(s.storage.objects.has(up!.key)).to.equal(false);
      const res = await s.service.image(photoKey);
      expect(res.redirect).to.equal(`https://s3.test/bucket/${photoKey}?sig=get`);
    });
    it('streams a photo\'s object from a volume; 404 for a pending upload and for an unknown key', async () => {
      const s = setup();
      const uploadId = await upload(s, ALICE, pngBytes());
      const key = s.uploads.get(uploadId)!.key;
      await rejectsWith(s.service.image(key), 404, 'not_found');
      expect(key).to.equal(`uploads/${uploadId}.png`);
      const photo = await s.service.createPhoto(ALICE, uploadId, '');
      expect(photo.imageUrl).to.equal(`https://api.example.com/images/photos/${uploadId}.png`);
      await rejectsWith(s.service.image(key), 404, 'not_found');
      const res = await s.service.image(`photos/${uploadId}.png`);
      expect(res.object).to.include({ size: pngBytes().length, contentType: 'image/png' });
      await rejectsWith(s.service.image('photos/ZZZZZZZZZZZZZZZZZZZZZZ.png'), 404, 'not_found');
    });
  });
});
