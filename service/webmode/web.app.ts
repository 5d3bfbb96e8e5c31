// Web mode: serves the web client's static files (hashed assets immutable, index.html no-cache) and /config.json.
import path from 'node:path';
import Koa from 'koa';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { errorHandler, requestContext, createKoa } from '../http/middleware.js';
import { probeRoutes, type Readiness } from '../http/probes.js';
import { AppError } from '../errors.js';
import { openStatic, type StaticFile } from './static-files.infra.js';

/** What web mode needs. */
export interface WebAppDeps {
  log: Logger;
  metrics: Metrics;
  root: string;
  apiBaseUrl: string;
  cdnBaseUrl: string;
  /** Whether the process can take traffic (false while draining); always ready when left out. */
  ready?: Readiness;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.ico': 'image/x-icon', '.webp': 'image/webp', '.woff2': 'font/woff2', '.map': 'application/json', '.txt': 'text/plain' };
// Vite writes content-hashed files as assets/<name>-<hash>.<ext>; files copied from public/ keep their names.
const HASHED = /[.-][A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/** True for a content-hashed build asset, which may be cached for a year. */
function isHashedAsset(root: string, file: string): boolean {
  const rel = path.relative(path.resolve(root), file).split(path.sep);
  return rel.length === 2 && rel[0] === 'assets' && HASHED.test(rel[1]!);
}

/** Builds the web application; unknown paths without an extension get index.html (client-side routing). */
export function createWebApp(deps: WebAppDeps): Koa {
  const app = createKoa(deps.log);
  // Behind the Ingress: the page origin in /config.json takes its scheme and host from X-Forwarded-*.
  app.proxy = true;
  app.use(requestContext(deps.log, deps.metrics));
  app.use(errorHandler());
  app.use(probeRoutes({ ready: deps.ready ?? (() => ({ ok: true })) }).routes());
  app.use(async (ctx) => {
    if (ctx.path === '/config.json') {
      ctx.set('Cache-Control', 'no-cache');
      // Not ctx.origin: since Koa 3 that is the request's Origin header (null on same-origin GETs, and client-controlled).
      ctx.body = { apiBaseURL: deps.apiBaseUrl || `${ctx.protocol}://${ctx.host}`, cdnBaseURL: deps.cdnBaseUrl };
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new AppError('method_not_allowed', `${ctx.method} is not allowed`);
    let file: StaticFile | null = ctx.path.endsWith('/') ? null : await openStatic(deps.root, ctx.path);
    if (!file && (ctx.path.endsWith('/') || path.extname(ctx.path) === '')) file = await openStatic(deps.root, '/index.html');
    if (!file) throw new AppError('not_found', `no file ${ctx.path}`);
    const base = path.basename(file.path);
    ctx.set('Cache-Control', base === 'index.html' ? 'no-cache' : isHashedAsset(deps.root, file.path) ? 'public, max-age=31536000, immutable' : 'public, max-age=300');
    ctx.type = TYPES[path.extname(base)] ?? 'application/octet-stream';
    ctx.length = file.size;
    ctx.body = file.body;
  });
  return app;
}
