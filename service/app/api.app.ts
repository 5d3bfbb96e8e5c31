// The API's Koa application: middleware composed once, then one router with the probes, /openapi.json, images and the /api/v1 routes.
import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Logger } from '../log.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { errorHandler, requestContext, createKoa } from '../http/middleware.js';
import { cors } from '../http/cors.js';
import { probeRoutes, type Readiness } from '../http/probes.js';
import { profileFastRead, userRoutes } from '../users/user.routes.js';
import { fastJsonAnswer, type FastRead } from '../http/fast-response.js';
import { imageRoutes, photoRoutes } from '../photos/photo.routes.js';
import type { UserService } from '../users/user.service.js';
import type { PhotoService } from '../photos/photo.service.js';
import { buildOpenApiDocument } from '../openapi/openapi.document.js';
import { originRoutes, type OriginRoutesDeps } from '../origin/origin.app.js';
import type { RouteLimits } from '../http/rate-limit.js';

/** What the API app needs. */
export interface ApiAppDeps {
  log: Logger;
  metrics: Metrics;
  users: UserService;
  photos: PhotoService;
  /** Whether the service can take traffic (the primary answers and it is not draining). */
  ready: Readiness;
  /** When set (volume storage with GRAMINSTA_ORIGIN_TOKEN), /images/<key> speaks the origin protocol, writes included, instead of read-only GET. */
  origin?: OriginRoutesDeps;
  /** Rate limits of login, sign-up and upload slots (limiter null: off). */
  limits?: RouteLimits;
  /** The largest image accepted, stated in the OpenAPI document's upload size limit. */
  maxUploadBytes: number;
  /** Proxies in front that append to X-Forwarded-For (0: trust no header; the peer is the client). */
  trustProxyHops?: number;
}

/**
 * A method the router does not implement at all (TRACE, PROPFIND...) is a 405 with Allow on a path that exists and a
 * 404 elsewhere, like any other method the path does not take; the router alone would answer 501, a server error.
 */
const unknownMethods: Koa.Middleware = async (ctx, next) => {
  await next();
  if (ctx.status === 501 && ctx.body === undefined) ctx.status = ctx.response.get('Allow') ? 405 : 404;
};

/**
 * Builds the API application, the reads answered before it (`fastRead`: near-cache hits of anonymous profile GETs),
 * and exposes its /api/v1 routers (for the OpenAPI test).
 */
export function createApiApp(deps: ApiAppDeps): { app: Koa; fastRead: FastRead; routers: Router[] } {
  const app = createKoa(deps.log);
  // ctx.ip (the rate limits' key) is the peer unless proxies are trusted; then the address the nearest trusted proxy saw.
  app.proxy = (deps.trustProxyHops ?? 0) > 0;
  app.maxIpsCount = deps.trustProxyHops ?? 0;
  const routers = [userRoutes(deps.users, deps.limits), photoRoutes(deps.photos, deps.users, deps.limits)];
  const openapi = new Router();
  const document = buildOpenApiDocument({ maxUploadBytes: deps.maxUploadBytes });
  openapi.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  // One router holds every route (nested routers are mounted as layers of it), so a request is matched once,
  // not once per router; the body parser is one of its layers, after the routes that take no JSON body.
  const jsonBody = bodyParser({
    enableTypes: ['json'],
    jsonLimit: '64kb',
    encoding: 'utf-8',
    onError: (err) => {
      if ((err as { status?: number }).status === 413) throw new AppError('payload_too_large', 'body: is larger than 64 KiB', { field: 'body' });
      throw new AppError('malformed_json', 'body: is not valid JSON', { field: 'body', cause: err });
    },
  });
  // Reads carry no body: they skip the parser's async frame.
  const parseJson: Koa.Middleware = (ctx, next) => (ctx.method === 'GET' || ctx.method === 'HEAD' ? next() : jsonBody(ctx, next));
  const images = deps.origin ? originRoutes(deps.origin) : imageRoutes(deps.photos);
  const router = new Router();
  router.use(probeRoutes(deps).routes(), openapi.routes(), images.routes(), parseJson, ...routers.map((r) => r.routes()));
  app.use(cors());
  app.use(requestContext(deps.log, deps.metrics));
  app.use(errorHandler());
  app.use(unknownMethods);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, fastRead: profileFastRead(deps.users, fastJsonAnswer(deps.log, deps.metrics)), routers };
}
