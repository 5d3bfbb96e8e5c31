// HTTP routes for uploads, photos, likes, the feed and image bytes.
import Router from '@koa/router';
import type Koa from 'koa';
import { AppError } from '../errors.js';
import * as v from '../http/validate.js';
import { optionalAuth, principal, requireAuth, viewerId } from '../http/auth.js';
import type { UserService } from '../users/user.service.js';
import type { PhotoService } from './photo.service.js';

/** Reads the raw request body, refusing more than `limit` bytes with a 413. */
export async function readBody(ctx: Koa.Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || NaN);
  if (declared > limit) {
    ctx.set('Connection', 'close');
    throw new AppError('upload_too_large', `content: ${declared} bytes is more than the allowed ${limit}`, { field: 'content' });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) {
        ctx.set('Connection', 'close');
        throw new AppError('upload_too_large', `content: more than the allowed ${limit} bytes`, { field: 'content' });
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('request_aborted', 'content: the client closed the request before sending all bytes', { field: 'content', cause: err });
  }
  return Buffer.concat(chunks);
}

/** The /api/v1 photo routes. */
export function photoRoutes(photos: PhotoService, users: UserService): Router {
  const r = new Router({ prefix: '/api/v1' });
  const auth = requireAuth(users);
  const maybeAuth = optionalAuth(users);

  r.post('/uploads', auth, async (ctx: Koa.Context) => {
    const b = v.objectBody(ctx.request.body, ['contentType', 'size']);
    if (typeof b.contentType !== 'string') throw new AppError('validation_failed', 'contentType: must be a string', { field: 'contentType' });
    const size = v.integer(b.size, 'size', 1, Number.MAX_SAFE_INTEGER);
    ctx.status = 201;
    ctx.body = await photos.createUpload(principal(ctx).userId, b.contentType, size);
  });

  r.put('/uploads/:uploadId/content', auth, async (ctx: Koa.Context) => {
    const id = v.uploadId(ctx.params.uploadId);
    const userId = principal(ctx).userId;
    const limit = await photos.uploadLimit(userId, id);
    await photos.putContent(userId, id, await readBody(ctx, limit));
    ctx.status = 204;
  });

  r.post('/photos', auth, async (ctx: Koa.Context) => {
    const b = v.objectBody(ctx.request.body, ['uploadId', 'caption']);
    const caption = b.caption === undefined ? '' : v.text(b.caption, 'caption', { max: 2000, multiline: true });
    ctx.status = 201;
    ctx.body = { photo: await photos.createPhoto(principal(ctx).userId, v.uploadId(b.uploadId), caption) };
  });

  r.get('/photos/:id', maybeAuth, async (ctx: Koa.Context) => {
    ctx.body = { photo: await photos.get(v.id(ctx.params.id), viewerId(ctx)) };
  });

  r.delete('/photos/:id', auth, async (ctx: Koa.Context) => {
    await photos.delete(principal(ctx).userId, v.id(ctx.params.id));
    ctx.status = 204;
  });

  r.get('/users/:username/photos', maybeAuth, async (ctx: Koa.Context) => {
    ctx.body = await photos.listByUser(v.username(ctx.params.username), viewerId(ctx), v.cursor(ctx.query.cursor), v.limit(ctx.query.limit));
  });

  r.get('/feed', auth, async (ctx: Koa.Context) => {
    ctx.body = await photos.feed(principal(ctx).userId, v.cursor(ctx.query.cursor), v.limit(ctx.query.limit));
  });

  r.put('/photos/:id/like', auth, async (ctx: Koa.Context) => {
    await photos.setLike(principal(ctx).userId, v.id(ctx.params.id), true);
    ctx.status = 204;
  });

  r.delete('/photos/:id/like', auth, async (ctx: Koa.Context) => {
    await photos.setLike(principal(ctx).userId, v.id(ctx.params.id), false);
    ctx.status = 204;
  });

  return r;
}

/** Serves GET /images/<key>: streams from a volume or origin, or redirects to a presigned S3 URL. */
export function imageMiddleware(photos: PhotoService): Koa.Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/images/') || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/images/:key';
    let key: string;
    try {
      key = decodeURIComponent(ctx.path.slice('/images/'.length));
    } catch {
      throw new AppError('invalid_object_key', 'key: is not valid percent-encoding', { field: 'key' });
    }
    const res = await photos.image(key);
    if (res.object === undefined) {
      ctx.redirect(res.redirect);
      return;
    }
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.type = res.object.contentType;
    ctx.length = res.object.size;
    ctx.body = res.object.body;
  };
}
