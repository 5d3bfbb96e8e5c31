// One HTTP request from a test to an address on this machine (a Service ClusterIP, the ingress fixture):
// an optional Host header, bearer token and JSON or raw body; the whole response body comes back.
import http from 'node:http';

/** A request's options: where it goes besides `base`, and what it carries. */
export interface RequestOptions {
  host?: string;
  token?: string;
  json?: unknown;
  raw?: Buffer;
  headers?: Record<string, string>;
  /** A keep-alive agent; none: a connection per request. */
  agent?: http.Agent;
}

/** The answer: status, body, and the body parsed as JSON. */
export interface Response {
  status: number;
  body: Buffer;
  json: <T>() => T;
}

/** Sends `method path` to `base`; rejects on a network error or after 30 s, with `reusedSocket` set on the error when a kept-alive socket was reused. */
export function httpRequest(base: string, method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.host) headers.host = opts.host;
  let payload = opts.raw;
  if (opts.json !== undefined) {
    payload = Buffer.from(JSON.stringify(opts.json));
    headers['content-type'] = 'application/json';
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (payload) headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = http.request({ agent: opts.agent, host: url.hostname, port: url.port || 80, method, path: url.pathname + url.search, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, body, json: <T>() => JSON.parse(body.toString()) as T });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after 30 s`)));
    req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
    req.end(payload);
  });
}

/**
 * httpRequest with the retry HTTP clients do on keep-alive (RFC 9110 §9.2.2; browsers, Node's docs): an
 * idempotent request whose *reused* socket was reset before any response is sent once more on a new
 * connection. `onResend` counts those, so they are reported apart, never hidden.
 */
export function httpRequestResending(base: string, method: string, path: string, opts: RequestOptions, onResend: () => void, resend = true): Promise<Response> {
  return httpRequest(base, method, path, opts).catch((err: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
    const idempotent = method === 'GET' || method === 'PUT' || method === 'DELETE' || method === 'HEAD';
    if (!resend || !idempotent || !err.reusedSocket || err.code !== 'ECONNRESET') throw err;
    onResend();
    return httpRequestResending(base, method, path, opts, onResend, false);
  });
}
