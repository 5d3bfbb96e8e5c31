// Latency of an image GET and a profile GET while `BENCH_LOGINS` clients log in back to back (a login flood), against
// a real Postgres and an API process started as the image starts it; the flood comes from a process of its own.
// Run: npx tsx bench/login-flood.bench.ts   (BENCH_SERVICE_ROOT=<checkout> runs that checkout's service instead, e.g. main
// for a before/after; BENCH_API_ENV='K=V,K=V' adds environment to the API; see docs/benchmarks.md, "Login flood")
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../test/support/postgres.js';
import { freePort, waitFor } from '../test/support/local-process.js';
import { loadConfig } from '../service/config.js';
import { createLogger } from '../service/log.js';
import { runMigrate } from '../service/app/server.infra.js';
import { pngBytes } from '../test/service/fakes.js';
import { apiProcessEnv } from './service/workload.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVICE_ROOT = path.resolve(process.env.BENCH_SERVICE_ROOT || ROOT);
const logins = Number(process.env.BENCH_LOGINS || 60);
const seconds = Number(process.env.BENCH_SECONDS || 10);
const apiEnv = Object.fromEntries((process.env.BENCH_API_ENV ?? '').split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const PNG = pngBytes(1, 1);

const children: ChildProcess[] = [];
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-flood-'));
const pgc = await startPostgres({ replica: false });
const volume = path.join(tmp, 'volume');
await fs.mkdir(volume);
const env = apiProcessEnv({ ...pgc.primary, password: pgc.password }, volume, apiEnv);

async function call(url: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  if (res.status >= 400) throw new Error(`while calling ${init.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return res;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const summary = (xs: number[]) => `n=${xs.length} p50=${pct(xs, 50).toFixed(1)} p95=${pct(xs, 95).toFixed(1)} max=${Math.max(...xs).toFixed(1)} ms`;

/** Times sequential GETs of `paths` until `until()` is true. */
async function sample(base: string, paths: string[], until: () => boolean): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(paths.map((p) => [p, []]));
  while (!until()) {
    for (const p of paths) {
      const t = performance.now();
      await (await call(base + p)).arrayBuffer();
      out[p]!.push(performance.now() - t);
    }
  }
  return out;
}

try {
  await runMigrate(loadConfig(env, 'migrate'), createLogger('warn'));
  const port = await freePort();
  const out = await fs.open(path.join(tmp, 'api.log'), 'w');
  const api = spawn(process.execPath, ['--import', 'tsx', 'service/main.ts', 'api'], { cwd: SERVICE_ROOT, env: { ...process.env, ...env, PORT: String(port), GRAMINSTA_METRICS_PORT: String(await freePort()) }, stdio: ['ignore', out.fd, out.fd] });
  children.push(api);
  await out.close();
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`api on ${base}`, async () => (await fetch(`${base}/healthz`)).status < 500, 60000, 200);

  const json = { 'content-type': 'application/json' };
  const signup = (await (await call(`${base}/api/v1/users`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'flood', password: 'correct horse' }) })).json()) as { token: string };
  const auth = { authorization: `Bearer ${signup.token}` };
  const up = (await (await call(`${base}/api/v1/uploads`, { method: 'POST', headers: { ...json, ...auth }, body: JSON.stringify({ contentType: 'image/png', size: PNG.length }) })).json()) as { uploadId: string; url: string; headers: Record<string, string> };
  await call(new URL(up.url, base).href, { method: 'PUT', headers: { ...auth, ...up.headers }, body: new Uint8Array(PNG) });
  const photo = (await (await call(`${base}/api/v1/photos`, { method: 'POST', headers: { ...json, ...auth }, body: JSON.stringify({ uploadId: up.uploadId }) })).json()) as { photo: { imageUrl: string } };
  const paths = [new URL(photo.photo.imageUrl, base).pathname, '/api/v1/users/flood'];

  const idleEnd = Date.now() + 3000;
  const idle = await sample(base, paths, () => Date.now() > idleEnd);
  const worker = spawn(process.execPath, ['--import', 'tsx', 'bench/service/login-flood.worker.ts', base, 'flood', 'correct horse', String(logins), String(seconds)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(worker);
  let stdout = '';
  worker.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  let done = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  void exited.then(() => (done = true));
  // Let the flood fill the server first.
  await new Promise((r) => setTimeout(r, 1000));
  const flood = await sample(base, paths, () => done);
  await exited;
  console.log(`service from ${SERVICE_ROOT}${Object.keys(apiEnv).length ? ` with ${JSON.stringify(apiEnv)}` : ''}; ${logins} concurrent logins for ${seconds} s; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`logins: ${stdout.trim()}`);
  for (const p of paths) {
    console.log(`GET ${p.startsWith('/images') ? 'image  ' : 'profile'} idle:  ${summary(idle[p]!)}`);
    console.log(`GET ${p.startsWith('/images') ? 'image  ' : 'profile'} flood: ${summary(flood[p]!)}`);
  }
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await pgc.stop();
  await fs.rm(tmp, { recursive: true, force: true });
}
