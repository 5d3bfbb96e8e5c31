// The operator's HTTP endpoints: /metrics (Prometheus), /healthz (the process is alive) and /readyz
// (the caches have synced).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** What the probe endpoints ask of the running operator. */
export interface ProbeState {
  /** True once every informer has listed once. */
  synced(): boolean;
  /** A reason the process is unhealthy, or undefined when it is healthy. */
  unhealthy(): string | undefined;
}

/** Starts the HTTP server on host:port and resolves once it listens. */
export async function startHttpServer(opts: { host: string; port: number; registry: Registry; probes: ProbeState }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (path === '/healthz' || path === '/livez') {
      const problem = opts.probes.unhealthy();
      return problem ? reply(500, `unhealthy: ${problem}\n`) : reply(200, 'ok\n');
    }
    if (path === '/readyz') return opts.probes.synced() ? reply(200, 'ok\n') : reply(503, 'informer caches have not synced yet\n');
    if (path === '/metrics') {
      opts.registry
        .metrics()
        .then((text) => reply(200, text, opts.registry.contentType))
        .catch((err: unknown) => reply(500, `metrics failed: ${(err as Error).message}\n`));
      return;
    }
    reply(404, 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}
