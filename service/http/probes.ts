// The probes every HTTP mode serves on its public port (GET /healthz, /readyz); /metrics has a listener of its own (app/metrics-server.infra.ts).
import Router from '@koa/router';
import { AppError } from '../errors.js';

/** Whether the process can take traffic now, and if not, why. */
export type Readiness = () => Promise<{ ok: boolean; reason?: string }> | { ok: boolean; reason?: string };

/** /healthz (the process answers) and /readyz (`ready` says it can take traffic); /metrics answers 404 here (the web app would serve its page). */
export function probeRoutes(deps: { ready: Readiness }): Router {
  const r = new Router();
  r.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  r.get('/readyz', async (ctx) => {
    const { ok, reason } = await deps.ready();
    ctx.status = ok ? 200 : 503;
    ctx.body = ok ? { status: 'ready' } : { status: 'not ready', ...(reason ? { reason } : {}) };
  });
  r.get('/metrics', () => {
    throw new AppError('not_found', 'no /metrics on this port: metrics are served on the metrics port (GRAMINSTA_METRICS_PORT)');
  });
  return r;
}
