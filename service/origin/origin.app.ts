// Origin mode: serves images from the volume with long-lived cache headers and accepts authenticated writes.
import crypto from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { AppError } from '../errors.js';
import { errorHandler, requestContext, createKoa } from '../http/middleware.js';
import { readBody } from '../http/body.js';
import { probeRoutes, type Readiness } from '../http/probes.js';
import { objectKey } from '../http/validate.js';
import { requireImage } from '../media/image.js';
import { isPendingKey } from '../storage/keys.js';
import type { ObjectStorage } from '../storage/storage.js';

/** What origin mode needs. */
export interface OriginAppDeps {
  log: Logger;
  metrics: Metrics;
  storage: ObjectStorage;
  token: string;
  maxUploadBytes: number;
  ready: Readiness;
}

function authorized(header: string, token: string): boolean {
  const given = Buffer.from(header);
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/** What the origin protocol's routes need. */
export type OriginRoutesDeps = Pick<OriginAppDeps, 'storage' | 'token' | 'maxUploadBytes'>;

/** GET/HEAD/PUT/DELETE /images/<key>; writes need the origin token (none is accepted when it is empty). Served by origin mode and by the API on volume storage. */
export function originRoutes(deps: OriginRoutesDeps): Router {
  const r = new Router();
  const key = (ctx: Koa.Context) => objectKey(ctx.path.slice('/images/'.length));
  const requireToken: Koa.Middleware = async (ctx, next) => {
    key(ctx);
    if (!deps.token || !authorized(ctx.get('authorization'), deps.token)) throw new AppError('invalid_token', 'authorization: the origin token is required to write');
    await next();
  };

  r.put('/images/*key', requireToken, async (ctx: Koa.Context) => {
    const body = await readBody(ctx, deps.maxUploadBytes);
    await deps.storage.put(key(ctx), body, requireImage(body).type);
    ctx.status = 204;
  });

  r.delete('/images/*key', requireToken, async (ctx: Koa.Context) => {
    await deps.storage.delete(key(ctx));
    ctx.status = 204;
  });

  r.get('/images/*key', async (ctx: Koa.Context) => {
    const k = key(ctx);
    // A pending upload is not public: only the API (with the token) reads it, to check it before it becomes a photo.
    if (isPendingKey(k) && !(deps.token && authorized(ctx.get('authorization'), deps.token))) throw new AppError('not_found', 'image not found');
    const obj = await deps.storage.get(k);
    if (!obj) throw new AppError('not_found', 'image not found');
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = obj.contentType;
    const range = /^bytes=0-(\d+)$/.exec(ctx.get('range'));
    if (range && ctx.method === 'GET') {
      const end = Math.min(Number(range[1]), obj.size - 1);
      obj.body.destroy();
      const head = await deps.storage.head(k, end + 1);
      ctx.status = 206;
      ctx.set('Content-Range', `bytes 0-${head.length - 1}/${obj.size}`);
      ctx.body = head;
      return;
    }
    ctx.length = obj.size;
    if (ctx.method === 'HEAD') {
      obj.body.destroy();
      ctx.status = 200;
      return;
    }
    ctx.body = obj.body;
  });

  r.all('/images/*key', (ctx: Koa.Context) => {
    key(ctx);
    throw new AppError('method_not_allowed', `${ctx.method} is not allowed on images`);
  });
  return r;
}

/** Builds the origin application: the probes and /images/<key>. */
export function createOriginApp(deps: OriginAppDeps): Koa {
  const app = createKoa(deps.log);
  app.use(requestContext(deps.log, deps.metrics));
  app.use(errorHandler());
  app.use(probeRoutes(deps).routes());
  app.use(originRoutes(deps).routes());
  return app;
}
