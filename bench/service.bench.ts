// Benchmarks the photo service against real Postgres (+replica), Redis and s3rver, with every server and the load
// generator (autocannon) in processes of their own; each figure is a ratio to a bare Koa process measured in the same round.
// Run: npx tsx bench/service.bench.ts   (settings: see docs/benchmarks.md, "The service bench")
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPostgres } from '../test/support/postgres.js';
import { startRedis } from '../test/support/redis.js';
import { startS3 } from '../test/support/s3.js';
import { freePort, waitFor } from '../test/support/local-process.js';
import { loadConfig } from '../service/config.js';
import { createLogger } from '../service/log.js';
import { runMigrate } from '../service/app/server.infra.js';
import { apiProcessEnv, nearCounts, nearHitPercent, type LoadResult, type NearCounts, type Workload } from './service/workload.js';
import { pngBytes } from '../test/service/fakes.js';
import { compileForBench } from './compile.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const num = (name: string, def: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
};
const seconds = num('BENCH_SECONDS', 5);
const warmSeconds = num('BENCH_WARM_SECONDS', 2);
const connections = num('BENCH_CONNECTIONS', 50);
const rounds = num('BENCH_ROUNDS', 3);
const profiles = num('BENCH_PROFILES', 10000);
const zipfS = num('BENCH_ZIPF_S', 1);
const uploadsPerRun = num('BENCH_UPLOADS', 1000);
const uploadConnections = 10;
// '|'-separated: figure names contain commas.
const only = (process.env.BENCH_ONLY ?? '').split('|').filter(Boolean);
const serverFlags = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);

// A complete 32 KiB PNG (random grey pixels): the service validates the whole body.
const PNG = pngBytes(180, 180, true);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const children: ChildProcess[] = [];
const pidByUrl = new Map<string, number>();
const metricsByUrl = new Map<string, string>();
const CLK_TCK = 100;

/** CPU seconds (user + system) the process `pid` has used so far, from /proc (Linux). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Starts the compiled `script` with `args` and `env` as the image does (NODE_ENV=production), resolving once /healthz answers. */
async function startServer(name: string, script: string, args: string[], env: Record<string, string>, logDir: string): Promise<string> {
  const port = await freePort();
  const out = await fs.open(path.join(logDir, `${name}.log`), 'w');
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [...serverFlags, script, ...args], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production', ...env, PORT: String(port), GRAMINSTA_METRICS_PORT: String(metricsPort) }, stdio: ['ignore', out.fd, out.fd] });
  children.push(child);
  await out.close(); // the child holds its own copy of the descriptor
  child.once('exit', (code) => {
    if (!stopping) console.error(`${name} exited early with ${code}; log in ${logDir}/${name}.log`);
  });
  const url = `http://127.0.0.1:${port}`;
  if (child.pid !== undefined) pidByUrl.set(url, child.pid);
  metricsByUrl.set(url, `http://127.0.0.1:${metricsPort}/metrics`);
  await waitFor(`${name} on ${url}`, async () => (await fetch(`${url}/healthz`)).status < 500, 60000, 200);
  return url;
}

/** What one run measured, plus the CPU the server process spent per request (µs; NaN when it is not a child, e.g. s3rver). */
type Run = LoadResult & { cpuUsPerRequest: number; nearHitPercent?: number };

/** The near-cache counts of the server at `url` (null: none, or not an API process with a near cache). */
async function nearCountsOf(url: string): Promise<NearCounts | null> {
  const m = metricsByUrl.get(url);
  if (!m) return null;
  try {
    return nearCounts(await (await fetch(m)).text());
  } catch {
    return null;
  }
}

/** Runs one workload in a fresh load-generator process and returns what it measured. */
async function generate(w: Workload): Promise<Run> {
  const serverPid = pidByUrl.get(w.url);
  // Outside the CPU window: a scrape costs the server CPU of its own.
  const near0 = await nearCountsOf(w.url);
  const cpu0 = await cpuSeconds(serverPid);
  const argFile = path.join(tmp, `workload-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  await fs.writeFile(argFile, JSON.stringify(w));
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/service/load.worker.ts', argFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  await fs.rm(argFile, { force: true });
  if (code !== 0) throw new Error(`the load generator exited with ${code}`);
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult;
  const cpuUsPerRequest = (((await cpuSeconds(serverPid)) - cpu0) * 1e6) / r.requests;
  const near1 = near0 ? await nearCountsOf(w.url) : null;
  return { ...r, cpuUsPerRequest, ...(near0 && near1 ? { nearHitPercent: nearHitPercent(near0, near1) } : {}) };
}

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`while calling ${init.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

// The servers run the JavaScript tsc emits, as Dockerfile.service runs dist/service/main.js (tsx would add its loader's cost).
const [bareJs, mainJs] = compileForBench(['bench/service/bare-koa.server.ts', 'service/main.ts']);
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-bench-'));
let stopping = false;
const pgc = await startPostgres({ replica: true });
const redis = await startRedis();
const s3 = await startS3();
const volume = path.join(tmp, 'volume');
await fs.mkdir(volume);
const env = apiProcessEnv({ ...pgc.primary, password: pgc.password, replicas: `${pgc.replica!.host}:${pgc.replica!.port}` }, volume);
const stopAll = async () => {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await redis.stop();
  await s3.stop();
  await pgc.stop();
  await fs.rm(tmp, { recursive: true, force: true });
};
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  await runMigrate(loadConfig(env, 'migrate'), createLogger('warn'));
  // The data: `profiles` users with follows and photos, written directly (sign-up would spend minutes in scrypt).
  const primary = new pg.Client({ connectionString: pgc.superuserUrl().replace(/\/postgres$/, '/graminsta') });
  primary.on('error', () => undefined);
  await primary.connect();
  await primary.query(`INSERT INTO users (username, password_hash, display_name, bio) SELECT 'user' || g, 'x', 'User ' || g, 'bio of user ' || g FROM generate_series(1, $1::int) g`, [profiles]);
  await primary.query(`INSERT INTO follows (follower_id, followee_id) SELECT u.id, 1 + (u.id * 7919 + k * 104729) % $1::int FROM users u, generate_series(1, 5) k WHERE 1 + (u.id * 7919 + k * 104729) % $1::int <> u.id ON CONFLICT DO NOTHING`, [profiles]);
  await primary.query(`INSERT INTO photos (user_id, object_key, caption, content_type, size_bytes, width, height) SELECT 1 + (g % 200), 'photos/bench' || g || '.png', 'photo ' || g, 'image/png', 1000, 1, 1 FROM generate_series(1, 2000) g`);
  await primary.end();

  const api = (extra: Record<string, string>) => ({ ...env, ...extra });
  const urls = {
    bare: await startServer('bare-koa', bareJs!, [], {}, tmp),
    cached: await startServer('api-cached', mainJs!, ['api'], api({ GRAMINSTA_REDIS_MODE: 'standalone', GRAMINSTA_REDIS_NODES: redis.nodes[0]! }), tmp),
    redisOnly: await startServer('api-redis-only', mainJs!, ['api'], api({ GRAMINSTA_REDIS_MODE: 'standalone', GRAMINSTA_REDIS_NODES: redis.nodes[0]!, GRAMINSTA_NEAR_CACHE_MS: '0' }), tmp),
    uncached: await startServer('api-uncached', mainJs!, ['api'], api({}), tmp),
    s3: await startServer('api-s3', mainJs!, ['api'], api({ GRAMINSTA_STORAGE: 's3', GRAMINSTA_S3_BUCKET: s3.bucket, GRAMINSTA_S3_ENDPOINT: s3.endpoint, GRAMINSTA_S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey }), tmp),
  };
  const jsonPost = (token: string, body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const { token } = await json<{ token: string }>(`${urls.cached}/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'password123' }) });
  for (let i = 1; i <= 50; i++) await fetch(`${urls.cached}/api/v1/users/user${i}/follow`, { method: 'PUT', headers: { authorization: `Bearer ${token}` } });
  await pgc.waitForReplication();
  await new Promise((r) => setTimeout(r, 5500)); // past the bench user's read-your-writes window

  const replica = new pg.Client({ connectionString: pgc.superuserUrl(pgc.replica!).replace(/\/postgres$/, '/graminsta') });
  replica.on('error', () => undefined); // the server stops at the end, possibly before this client
  await replica.connect();
  const profileQueries = async () => Number((await replica.query(`SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_statements WHERE query LIKE '%profile.read%' AND query LIKE '%FROM users u%'`)).rows[0].n);

  /** Fresh upload slots on `base`, as (origin, path) pairs; every slot is used by exactly one PUT. */
  const slots = async (base: string, n: number) => {
    const out: URL[] = [];
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => json<{ url: string }>(`${base}/api/v1/uploads`, jsonPost(token, { contentType: 'image/png', size: PNG.length }))));
      for (const s of batch) out.push(new URL(s.url, base));
    }
    return { origin: out[0]!.origin, paths: out.map((u) => u.pathname + u.search) };
  };
  const profileGet = (base: string): Workload => ({ url: base, connections, seconds, path: '/api/v1/users/user1' });
  const zipfGet = (base: string): Workload => ({ url: base, connections, seconds, zipf: { prefix: '/api/v1/users/user', n: profiles, s: zipfS } });
  // Through the API the PUT carries the bearer token; a presigned URL carries its own signature (an Authorization header would conflict).
  const upload = async (base: string, presigned: boolean): Promise<Workload> => {
    const s = await slots(base, uploadsPerRun);
    return { url: s.origin, connections: uploadConnections, seconds, method: 'PUT', paths: s.paths, bodyBase64: PNG.toString('base64'), headers: { 'content-type': 'image/png', ...(presigned ? {} : { authorization: `Bearer ${token}` }) } };
  };
  interface Figure {
    name: string;
    workload: () => Promise<Workload> | Workload;
    /** Run the workload for BENCH_WARM_SECONDS before measuring. */
    warm?: boolean;
    /** Before that, GET every profile once (so the cache, and the id-by-username map on both sides, start warm). */
    touchAll?: boolean;
    countQueries?: boolean;
    /** Its ratio is taken against bare Koa under the same Zipf request stream (the generator's cost per request is part of the workload). */
    zipfLimit?: boolean;
  }
  const zipfLimitName = 'bare Koa, Zipf paths (the Zipf limit)';
  const everyProfile = Array.from({ length: profiles }, (_, i) => `/api/v1/users/user${i + 1}`);
  const figures: Figure[] = [
    // warm: only for the unrecorded pass before round 1 (the limits run without a warm-up in the rounds).
    { name: 'bare Koa (the limit)', workload: () => ({ url: urls.bare, connections, seconds, path: '/' }), warm: true },
    { name: zipfLimitName, workload: () => zipfGet(urls.bare), warm: true },
    { name: 'profile GET, hot key, cached', workload: () => profileGet(urls.cached), warm: true },
    { name: 'profile GET, hot key, Redis only (no near)', workload: () => profileGet(urls.redisOnly), warm: true },
    { name: 'profile GET, hot key, uncached', workload: () => profileGet(urls.uncached), warm: true },
    { name: `profile GET, Zipf ${profiles}, cached`, workload: () => zipfGet(urls.cached), warm: true, touchAll: true, countQueries: true, zipfLimit: true },
    { name: `profile GET, Zipf ${profiles}, Redis only (no near)`, workload: () => zipfGet(urls.redisOnly), warm: true, touchAll: true, countQueries: true, zipfLimit: true },
    { name: `profile GET, Zipf ${profiles}, uncached`, workload: () => zipfGet(urls.uncached), warm: true, touchAll: true, countQueries: true, zipfLimit: true },
    { name: 'feed GET (50 followees)', workload: () => ({ url: urls.cached, connections, seconds, path: '/api/v1/feed', headers: { authorization: `Bearer ${token}` } }), warm: true },
    { name: `upload ${PNG.length} B through the API`, workload: () => upload(urls.cached, false) },
    { name: `upload ${PNG.length} B via presigned S3`, workload: () => upload(urls.s3, true) },
  ]
    .filter((f) => f.name.startsWith('bare Koa') || only.length === 0 || only.some((o) => f.name.includes(o)))
    // The limits run first in every round; the Zipf one only when a Zipf figure is measured.
    .filter((f, _, all) => f.name !== zipfLimitName || all.some((g) => g.zipfLimit));
  const limits = figures.filter((f) => f.name.startsWith('bare Koa'));
  const measured = figures.filter((f) => !limits.includes(f));

  console.log(`service bench: ${connections} connections (uploads ${uploadConnections}), ${seconds} s per run (+${warmSeconds} s warm-up), ${rounds} rounds, ${profiles} profiles (Zipf s=${zipfS}), ${uploadsPerRun} uploads per run`);
  console.log(`machine: ${os.cpus().length} cores, load average ${load()} (1/5/15 min); LOG_LEVEL=${env.LOG_LEVEL}; autocannon in its own process, servers in their own processes`);
  // JIT and pools warm before anything counts: every server sees each of its workloads once, unrecorded.
  for (const f of figures) if (f.warm) await generate({ ...(await f.workload()), seconds: warmSeconds });
  const results = new Map<string, { r: Run; ratio: number; queriesPerK?: number; load: string }[]>();
  for (let round = 0; round < rounds; round++) {
    // Alternate the order: odd rounds run the figures backwards (the limits always first, so every ratio has its limit).
    const order = round % 2 === 0 ? measured : [...measured].reverse();
    const limitRps = new Map<string, number>();
    const record = (f: Figure, r: Run, queriesPerK?: number) => {
      const bareRps = limitRps.get(f.zipfLimit ? zipfLimitName : figures[0]!.name) ?? r.rps;
      const list = results.get(f.name) ?? [];
      list.push({ r, ratio: r.rps / bareRps, ...(queriesPerK === undefined ? {} : { queriesPerK }), load: load() });
      results.set(f.name, list);
      const q = (queriesPerK === undefined ? '' : `  profile queries/1k req ${queriesPerK.toFixed(1)}`) + (r.nearHitPercent === undefined || Number.isNaN(r.nearHitPercent) ? '' : `  near hits ${r.nearHitPercent.toFixed(1)} %`);
      console.log(`round ${round + 1}  ${f.name.padEnd(40)} ${r.rps.toFixed(0).padStart(7)} req/s  ${(r.rps / bareRps).toFixed(2)}x bare  p50 ${r.p50} ms  p99 ${r.p99} ms  server CPU ${r.cpuUsPerRequest.toFixed(0)} µs/req  non2xx ${r.non2xx}  errors ${r.errors + r.timeouts}${q}  load ${load()}`);
    };
    for (const f of limits) {
      const r = await generate(await f.workload());
      limitRps.set(f.name, r.rps);
      record(f, r);
    }
    for (const f of order) {
      const w = await f.workload();
      if (f.touchAll) await generate({ url: w.url, connections, seconds, paths: everyProfile });
      if (f.warm) await generate({ ...w, seconds: warmSeconds });
      const q0 = f.countQueries ? await profileQueries() : 0;
      const r = await generate(w);
      record(f, r, f.countQueries ? ((await profileQueries()) - q0) / (r.requests / 1000) : undefined);
    }
  }
  await replica.end();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nmedians of ${rounds} rounds (ratios taken within each round), load average at the end ${load()}`);
  const med = new Map<string, { rps: number; ratio: number; cpu: number; q?: number; void: boolean }>();
  for (const f of figures) {
    const list = results.get(f.name) ?? [];
    const failed = list.some((x) => x.r.non2xx > 0 || x.r.errors > 0 || x.r.timeouts > 0);
    const qs = list.flatMap((x) => (x.queriesPerK === undefined ? [] : [x.queriesPerK]));
    const m = { rps: median(list.map((x) => x.r.rps)), ratio: median(list.map((x) => x.ratio)), cpu: median(list.map((x) => x.r.cpuUsPerRequest)), ...(qs.length ? { q: median(qs) } : {}), void: failed };
    med.set(f.name, m);
    console.log(`${f.name.padEnd(40)} ${m.rps.toFixed(0).padStart(7)} req/s  ${m.ratio.toFixed(2)}x bare  server CPU ${m.cpu.toFixed(0).padStart(4)} µs/req${m.q === undefined ? '' : `  profile queries/1k req ${m.q.toFixed(1)}`}${failed ? '  VOID (non-2xx or errors in a run)' : ''}`);
  }
  const target = (label: string, ok: boolean) => console.log(`${label.padEnd(70)} ${ok ? 'met' : 'MISSED'}`);
  const hot = med.get('profile GET, hot key, cached');
  const zc = med.get(`profile GET, Zipf ${profiles}, cached`);
  const zu = med.get(`profile GET, Zipf ${profiles}, uncached`);
  if (hot) target(`cached hot-key GET >= 0.8x bare: ${hot.ratio.toFixed(2)}x`, hot.ratio >= 0.8 && !hot.void);
  if (zc) target(`cached Zipf GET >= 0.7x bare: ${zc.ratio.toFixed(2)}x`, zc.ratio >= 0.7 && !zc.void);
  if (zc?.q !== undefined && zu?.q !== undefined) {
    const fewer = 1 - zc.q / zu.q;
    target(`Zipf: Postgres profile queries per request with cache vs without: ${(fewer * 100).toFixed(1)} % fewer (>= 90 %)`, fewer >= 0.9);
  }
} catch (err) {
  console.error('bench failed:', err);
  process.exitCode = 1;
} finally {
  await stopAll();
}
process.exit(process.exitCode ?? 0);
