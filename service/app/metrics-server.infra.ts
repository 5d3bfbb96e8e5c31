// The metrics listener: GET /metrics (Prometheus text) on a port of its own, so that no Service for user traffic exposes it.
import http from 'node:http';

/** What the listener serves: prom-client's Registry, or an exporter's own text. */
export interface MetricsSource {
  contentType: string;
  metrics(): Promise<string>;
}
import type { Logger } from '../log.js';

/** A listening metrics server. */
export interface MetricsServer {
  url: string;
  port: number;
  close: () => Promise<void>;
}

/** Serves `registry` at /metrics on `port` (0: any free port); every other path answers 404. */
export async function serveMetrics(registry: MetricsSource, port: number, log: Logger): Promise<MetricsServer> {
  const server = http.createServer({ headersTimeout: 10000, requestTimeout: 30000 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: this port serves GET /metrics only\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        log.error('collecting metrics failed', { err });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('collecting metrics failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  log.info('serving /metrics', { port: actual });
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
