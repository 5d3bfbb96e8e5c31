// HTTP routes for uploads, photos, likes, the feed and image bytes.
import Router from '@koa/router';
import type Koa from 'koa';
import { invalid } from '../errors.js';
import * as v from '../http/validate.js';
import { limits } from '../limits.js';
import { optionalAuth, principal, requireAuth, viewerId, type Authenticator } from '../http/auth.js';
import { readBody } from '../http/body.js';
import type { PhotoService } from './photo.service.js';
import { rateLimit, rulePolicies, type RouteLimits } from '../http/rate-limit.js';

/** The /api/v1 photo routes. */
export function photoRoutes(photos: PhotoService, users: Authenticator, rateLimits: RouteLimits | null = null): Router {
  const r = new Router({ prefix: '/api/v1' });
  const auth = requireAuth(users);
  const uploads = rateLimits?.limiter ? rulePolicies('uploads', rateLimits.rules.uploads) : null;
  const limitUploads = rateLimit(rateLimits?.limiter ?? null, (ctx) => [{ policy: uploads!.ip, subject: ctx.ip }, { policy: uploads!.account, subject: String(principal(ctx).userId) }]);
  const maybeAuth = optionalAuth(users);

  r.post('/uploads', auth, limitUploads, async (ctx: Koa.Context) => {
    const b = v.jsonBody(ctx.request, ['contentType', 'size']);
    if (typeof b.contentType !== 'string') throw invalid('contentType', 'must be a string');
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
    const b = v.jsonBody(ctx.request, ['uploadId', 'caption']);
    const caption = b.caption === undefined ? '' : v.text(b.caption, 'caption', { ...limits.caption, multiline: true });
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

/** GET /images/<key>: streams the image from a volume or origin, or redirects to a presigned S3 URL. */
export function imageRoutes(photos: PhotoService): Router {
  const r = new Router();
  r.get('/images/*key', async (ctx: Koa.Context) => {
    const res = await photos.image(v.objectKey(ctx.path.slice('/images/'.length)));
    if (res.object === undefined) {
      ctx.redirect(res.redirect);
      return;
    }
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = res.object.contentType;
    ctx.length = res.object.size;
    ctx.body = res.object.body;
  });
  return r;
}
