// The journey's load generator, run in a process of its own (`tsx test/support/journey-load.ts CONFIG.json`):
// steady mixed traffic at a fixed rate against the app's API — profile and feed reads, likes and unlikes,
// and now and then an upload (slot, bytes, photo) — for at most `maxSeconds`, or until SIGTERM/SIGINT.
// Every request is one NDJSON line in `logFile` ({t, op, status, ms, error?}); photos it created are lines
// {photo: {id, key, sha256}}. On exit it prints a summary JSON line on stdout.
//
// What counts as a failure: a network error, a timeout, or a status other than the one the operation
// expects (2xx; 3xx for nothing here). Like browsers and Node's documentation advise, an idempotent
// request whose *reused* keep-alive socket was reset before any response is sent once more on a new
// connection; those are counted apart (`resentOnReusedSocket`), never hidden.
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { httpRequestResending } from './http-request.js';

/** The generator's configuration (a JSON file). */
export interface LoadConfig {
  /** Base URL of the API, e.g. http://198.19.0.12 (the API Service's ClusterIP). */
  apiURL: string;
  /** Host header to send (an Ingress host), or empty for the URL's. */
  host?: string;
  /** Requests per second, all operations together. */
  rate: number;
  /** Hard bound on the run. */
  maxSeconds: number;
  /** Accounts to act as: username and bearer token. */
  users: { username: string; token: string }[];
  /** Photo ids the accounts may like. */
  photos: number[];
  /** One upload per this many requests (0: none). */
  uploadEvery: number;
  /** A small PNG, base64. */
  png: string;
  logFile: string;
}

interface Outcome {
  status: number;
  body: Buffer;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
let resentOnReusedSocket = 0;

function send(cfg: LoadConfig, method: string, path: string, opts: { token?: string; json?: unknown; raw?: Buffer; headers?: Record<string, string> } = {}): Promise<Outcome> {
  return httpRequestResending(cfg.apiURL, method, path, { ...opts, host: cfg.host, agent }, () => resentOnReusedSocket++);
}

interface Stats {
  sent: number;
  failed: number;
  byOp: Record<string, { sent: number; failed: number }>;
  failures: { t: number; op: string; status?: number; error?: string }[];
}

async function main(): Promise<void> {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadConfig;
  const png = Buffer.from(cfg.png, 'base64');
  writeFileSync(cfg.logFile, '');
  const stats: Stats = { sent: 0, failed: 0, byOp: {}, failures: [] };
  let stopping = false;
  const inflight = new Set<Promise<void>>();
  const stop = () => (stopping = true);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const deadline = Date.now() + cfg.maxSeconds * 1000;
  const pick = <T>(xs: T[], i: number) => xs[i % xs.length]!;

  /** One operation: the requests it makes, each checked against the status it expects. */
  const operation = async (i: number): Promise<void> => {
    const user = pick(cfg.users, i);
    const other = pick(cfg.users, i + 1);
    const photo = cfg.photos.length ? pick(cfg.photos, i * 7) : undefined;
    const step = async (op: string, expected: number[], run: () => Promise<Outcome>): Promise<Outcome | undefined> => {
      const t = Date.now();
      stats.sent++;
      const s = (stats.byOp[op] ??= { sent: 0, failed: 0 });
      s.sent++;
      try {
        const res = await run();
        const ms = Date.now() - t;
        const ok = expected.includes(res.status);
        appendFileSync(cfg.logFile, JSON.stringify({ t, op, status: res.status, ms, ...(ok ? {} : { error: res.body.toString().slice(0, 300) }) }) + '\n');
        if (!ok) {
          stats.failed++;
          s.failed++;
          stats.failures.push({ t, op, status: res.status, error: res.body.toString().slice(0, 300) });
          return undefined;
        }
        return res;
      } catch (err) {
        const ms = Date.now() - t;
        stats.failed++;
        s.failed++;
        const error = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`.trim();
        stats.failures.push({ t, op, error });
        appendFileSync(cfg.logFile, JSON.stringify({ t, op, status: 0, ms, error }) + '\n');
        return undefined;
      }
    };
    if (cfg.uploadEvery > 0 && i % cfg.uploadEvery === cfg.uploadEvery - 1) {
      const slot = await step('upload-slot', [201], () => send(cfg, 'POST', '/api/v1/uploads', { token: user.token, json: { contentType: 'image/png', size: png.length } }));
      if (!slot) return;
      const { url, uploadId, headers } = JSON.parse(slot.body.toString()) as { url: string; uploadId: string; headers?: Record<string, string> };
      const put = await step('upload-put', [200, 204], () => send(cfg, 'PUT', new URL(url, cfg.apiURL).pathname, { token: user.token, raw: png, headers }));
      if (!put) return;
      const created = await step('photo-create', [201], () => send(cfg, 'POST', '/api/v1/photos', { token: user.token, json: { uploadId, caption: `load ${i}` } }));
      if (!created) return;
      const view = (JSON.parse(created.body.toString()) as { photo: { id: number; imageUrl: string } }).photo;
      const key = new URL(view.imageUrl, cfg.apiURL).pathname.replace(/^\/images\//, '');
      appendFileSync(cfg.logFile, JSON.stringify({ photo: { id: view.id, key, sha256: createHash('sha256').update(png).digest('hex') } }) + '\n');
      return;
    }
    switch (i % 4) {
      case 0:
        await step('profile', [200], () => send(cfg, 'GET', `/api/v1/users/${other.username}`));
        return;
      case 1:
        await step('feed', [200], () => send(cfg, 'GET', '/api/v1/feed', { token: user.token }));
        return;
      case 2:
        if (photo !== undefined) await step('like', [200, 204], () => send(cfg, 'PUT', `/api/v1/photos/${photo}/like`, { token: user.token }));
        return;
      default:
        if (photo !== undefined) await step('unlike', [200, 204], () => send(cfg, 'DELETE', `/api/v1/photos/${photo}/like`, { token: user.token }));
    }
  };

  const intervalMs = 1000 / cfg.rate;
  const start = Date.now();
  for (let i = 0; !stopping && Date.now() < deadline; i++) {
    const p = operation(i).finally(() => inflight.delete(p));
    inflight.add(p);
    const next = start + (i + 1) * intervalMs;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inflight);
  agent.destroy();
  process.stdout.write(JSON.stringify({ ...stats, failures: stats.failures.slice(0, 50), resentOnReusedSocket, seconds: (Date.now() - start) / 1000 }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`journey-load: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
