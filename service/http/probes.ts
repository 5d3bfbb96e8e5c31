// The probes and metrics every mode serves: GET /healthz, /readyz and /metrics.
import Router from '@koa/router';
import type { Metrics } from '../metrics.js';

/** Whether the process can take traffic now, and if not, why. */
export type Readiness = () => Promise<{ ok: boolean; reason?: string }> | { ok: boolean; reason?: string };

/** /healthz (the process answers), /readyz (`ready` says it can take traffic) and /metrics (Prometheus text). */
export function probeRoutes(deps: { metrics: Metrics; ready: Readiness }): Router {
  const r = new Router();
  r.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  r.get('/readyz', async (ctx) => {
    const { ok, reason } = await deps.ready();
    ctx.status = ok ? 200 : 503;
    ctx.body = ok ? { status: 'ready' } : { status: 'not ready', ...(reason ? { reason } : {}) };
  });
  r.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  return r;
}
