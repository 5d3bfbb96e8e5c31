// Benchmarks the photo service with autocannon against real Postgres (+replica), Redis and s3rver.
// Run: npx tsx bench/service.bench.ts   (BENCH_SECONDS=10 by default, BENCH_CONNECTIONS=50)
import Koa from 'koa';
import http from 'node:http';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startPostgres } from '../test/support/postgres.js';
import { startRedis } from '../test/support/redis.js';
import { startS3 } from '../test/support/s3.js';
import { loadConfig } from '../service/config.js';
import { createLogger } from '../service/log.js';
import { runMigrate, startApi } from '../service/app/server.infra.js';
import { s3Storage } from '../service/storage/s3.storage.js';

interface Result {
  requests: { average: number };
  latency: { p99: number; average: number };
  non2xx: number;
  errors: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<Result>;
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);

async function run(name: string, opts: Record<string, unknown>): Promise<Result> {
  const r = await autocannon({ duration: seconds, connections, ...opts });
  console.log(`${name.padEnd(34)} ${r.requests.average.toFixed(0).padStart(7)} req/s  p99 ${String(r.latency.p99).padStart(4)} ms  avg ${r.latency.average.toFixed(2)} ms  non2xx ${r.non2xx} errors ${r.errors}`);
  return r;
}

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'), Buffer.alloc(32 * 1024, 7)]);

const pg = await startPostgres({ replica: true });
const redis = await startRedis();
const s3 = await startS3();
const volume = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-bench-'));
const env = {
  PORT: '0',
  GRAMINSTA_DB_HOST: pg.primary.host,
  GRAMINSTA_DB_PORT: String(pg.primary.port),
  GRAMINSTA_DB_PASSWORD: pg.password,
  GRAMINSTA_DB_REPLICA_HOSTS: `${pg.replica!.host}:${pg.replica!.port}`,
  GRAMINSTA_TOKEN_SECRET: 'bench-secret-0123456789',
  GRAMINSTA_VOLUME_PATH: volume,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
};
const log = createLogger('warn');
await runMigrate(loadConfig(env, 'migrate'), log);
const cached = await startApi(loadConfig({ ...env, GRAMINSTA_REDIS_MODE: 'standalone', GRAMINSTA_REDIS_NODES: redis.nodes[0]! }, 'api'), log);
const uncached = await startApi(loadConfig(env, 'api'), log);
const s3cfg = loadConfig({ ...env, GRAMINSTA_STORAGE: 's3', GRAMINSTA_S3_BUCKET: s3.bucket, GRAMINSTA_S3_ENDPOINT: s3.endpoint, GRAMINSTA_S3_FORCE_PATH_STYLE: 'true' }, 'api');
const viaS3 = await startApi(s3cfg, log, { storage: s3Storage({ ...s3cfg.storage.s3, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }) });

const bare = new Koa();
bare.use((ctx) => {
  ctx.body = { user: { id: 1, username: 'bench', displayName: 'bench', bio: '', followers: 0, following: 0, photos: 0, createdAt: new Date(0).toISOString() } };
});
const bareServer = http.createServer(bare.callback()).listen(0, '127.0.0.1');
await new Promise((r) => bareServer.once('listening', r));
const bareUrl = `http://127.0.0.1:${(bareServer.address() as { port: number }).port}`;

const signUp = await fetch(`${cached.url}/api/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'password123' }) }).then((r) => r.json() as Promise<{ token: string }>);
await pg.waitForReplication();
await new Promise((r) => setTimeout(r, 5500)); // past the read-your-writes window
await fetch(`${cached.url}/api/v1/users/bench`);

console.log(`autocannon: ${connections} connections, ${seconds} s each, 2 shared cores; LOG_LEVEL=${env.LOG_LEVEL}`);
const b = await run('bare Koa handler', { url: `${bareUrl}/` });
const c = await run('cached profile GET (Redis)', { url: `${cached.url}/api/v1/users/bench` });
const u = await run('uncached profile GET (Postgres replica)', { url: `${uncached.url}/api/v1/users/bench` });
console.log(`cached/bare throughput ${(c.requests.average / b.requests.average).toFixed(2)}x, p99 ${c.latency.p99}/${b.latency.p99} ms; cached/uncached throughput ${(c.requests.average / u.requests.average).toFixed(2)}x, p99 ${c.latency.p99}/${u.latency.p99} ms`);

const token = signUp.token;
const s3Token = await fetch(`${viaS3.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: 'password123' }) }).then((r) => r.json() as Promise<{ token: string }>);
const upApi = await fetch(`${cached.url}/api/v1/uploads`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ contentType: 'image/png', size: PNG.length }) }).then((r) => r.json() as Promise<{ url: string }>);
const upS3 = await fetch(`${viaS3.url}/api/v1/uploads`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s3Token.token}` }, body: JSON.stringify({ contentType: 'image/png', size: PNG.length }) }).then((r) => r.json() as Promise<{ url: string }>);
const pS3 = await run(`upload ${PNG.length} B via presigned S3 URL`, { url: upS3.url, method: 'PUT', body: PNG, headers: { 'content-type': 'image/png' }, connections: 10 });
const pApi = await run(`upload ${PNG.length} B through the API`, { url: `${cached.url}${upApi.url}`, method: 'PUT', body: PNG, headers: { 'content-type': 'image/png', authorization: `Bearer ${token}` }, connections: 10 });
console.log(`presigned/API upload throughput ${(pS3.requests.average / pApi.requests.average).toFixed(2)}x (the API process carried 0 image bytes for the presigned path)`);

bareServer.close();
await Promise.all([cached.shutdown(2000), uncached.shutdown(2000), viaS3.shutdown(2000)]);
await redis.stop();
await s3.stop();
await pg.stop();
await fs.rm(volume, { recursive: true, force: true });
process.exit(0);
