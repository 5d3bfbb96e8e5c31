// Origin mode: serves images from the volume with long-lived cache headers and accepts authenticated writes.
import crypto from 'node:crypto';
import Koa from 'koa';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { AppError } from '../errors.js';
import { errorHandler, requestContext } from '../http/middleware.js';
import { readBody } from '../photos/photo.routes.js';
import { sniffImage } from '../photos/image.js';
import type { ObjectStorage } from '../storage/storage.js';
import { assertKey } from '../storage/keys.js';

/** What origin mode needs. */
export interface OriginAppDeps {
  log: Logger;
  metrics: Metrics;
  storage: ObjectStorage;
  token: string;
  maxUploadBytes: number;
  ready: () => boolean;
}

function authorized(header: string, token: string): boolean {
  const given = Buffer.from(header);
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/** Builds the origin application: GET/HEAD/PUT/DELETE /images/<key>. */
export function createOriginApp(deps: OriginAppDeps): Koa {
  const app = new Koa();
  app.use(requestContext(deps.log, deps.metrics));
  app.use(errorHandler());
  app.use(async (ctx, next) => {
    if (ctx.path === '/healthz') return void (ctx.body = { status: 'ok' });
    if (ctx.path === '/readyz') {
      ctx.status = deps.ready() ? 200 : 503;
      ctx.body = { status: deps.ready() ? 'ready' : 'not ready' };
      return;
    }
    if (ctx.path === '/metrics') {
      ctx.type = deps.metrics.registry.contentType;
      ctx.body = await deps.metrics.registry.metrics();
      return;
    }
    await next();
  });
  app.use(async (ctx) => {
    if (!ctx.path.startsWith('/images/')) throw new AppError('not_found', `no route for ${ctx.method} ${ctx.path}`);
    (ctx as unknown as { _matchedRoute: string })._matchedRoute = '/images/:key';
    let key: string;
    try {
      key = assertKey(decodeURIComponent(ctx.path.slice('/images/'.length)));
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('invalid_object_key', 'key: is not valid percent-encoding', { field: 'key' });
    }
    if (ctx.method === 'PUT' || ctx.method === 'DELETE') {
      if (!authorized(ctx.get('authorization'), deps.token)) throw new AppError('invalid_token', 'authorization: the origin token is required to write');
      if (ctx.method === 'DELETE') {
        await deps.storage.delete(key);
        ctx.status = 204;
        return;
      }
      const body = await readBody(ctx, deps.maxUploadBytes);
      const info = sniffImage(body.subarray(0, 65536));
      if (!info) throw new AppError('not_an_image', 'content: is not a JPEG, PNG, GIF or WebP image', { field: 'content' });
      await deps.storage.put(key, body, info.type);
      ctx.status = 204;
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new AppError('method_not_allowed', `${ctx.method} is not allowed on images`);
    const obj = await deps.storage.get(key);
    if (!obj) throw new AppError('not_found', 'image not found');
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.type = obj.contentType;
    const range = /^bytes=0-(\d+)$/.exec(ctx.get('range'));
    if (range && ctx.method === 'GET') {
      const end = Math.min(Number(range[1]), obj.size - 1);
      obj.body.destroy();
      const head = await deps.storage.head(key, end + 1);
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
  return app;
}
