// The API's Koa application: middleware composed once, the routers, probes, metrics and /openapi.json.
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import type { Logger } from '../log.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { errorHandler, requestContext } from './middleware.js';
import { cors } from './cors.js';
import { userRoutes } from '../users/user.routes.js';
import { imageMiddleware, photoRoutes } from '../photos/photo.routes.js';
import type { UserService } from '../users/user.service.js';
import type { PhotoService } from '../photos/photo.service.js';
import { openApiDocument } from '../openapi/openapi.document.js';

/** What the API app needs. */
export interface ApiAppDeps {
  log: Logger;
  metrics: Metrics;
  users: UserService;
  photos: PhotoService;
  /** Resolves when the service can take traffic (the primary answers and it is not draining). */
  ready: () => Promise<{ ok: boolean; reason?: string }>;
}

/** Builds the API application and exposes its routers (for the OpenAPI test). */
export function createApiApp(deps: ApiAppDeps): { app: Koa; routers: ReturnType<typeof userRoutes>[] } {
  const app = new Koa();
  app.proxy = true;
  const routers = [userRoutes(deps.users), photoRoutes(deps.photos, deps.users)];
  app.use(cors());
  app.use(requestContext(deps.log, deps.metrics));
  app.use(errorHandler());
  app.use(async (ctx, next) => {
    switch (ctx.path) {
      case '/healthz':
        ctx.body = { status: 'ok' };
        return;
      case '/readyz': {
        const r = await deps.ready();
        ctx.status = r.ok ? 200 : 503;
        ctx.body = r.ok ? { status: 'ready' } : { status: 'not ready', reason: r.reason };
        return;
      }
      case '/metrics':
        ctx.type = deps.metrics.registry.contentType;
        ctx.body = await deps.metrics.registry.metrics();
        return;
      case '/openapi.json':
        ctx.body = openApiDocument;
        return;
      default:
        await next();
    }
  });
  app.use(imageMiddleware(deps.photos));
  app.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: '64kb',
      encoding: 'utf-8',
      onError: (err) => {
        if ((err as { status?: number }).status === 413) throw new AppError('payload_too_large', 'body: is larger than 64 KiB', { field: 'body' });
        throw new AppError('malformed_json', 'body: is not valid JSON', { field: 'body', cause: err });
      },
    }),
  );
  for (const r of routers) {
    app.use(r.routes());
    app.use(r.allowedMethods());
  }
  return { app, routers };
}
