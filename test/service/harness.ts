// Starts the real parts (Postgres primary + replica, Redis, s3rver) and an in-process API server for service tests.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startPostgres, type PgCluster } from '../support/postgres.js';
import { startRedis, startRedisCluster, type RedisDeployment } from '../support/redis.js';
import { startS3, type S3Server } from '../support/s3.js';
import { loadConfig } from '../../service/config.js';
import { createLogger } from '../../service/log.js';
import { runMigrate, startApi, type RunningServer } from '../../service/app/server.infra.js';
import { s3Storage } from '../../service/storage/s3.storage.js';
import { pngBytes } from './fakes.js';

/** Everything a service test talks to. */
export interface Stack {
  pg: PgCluster;
  redis: RedisDeployment | null;
  s3: S3Server | null;
  volume: string;
  api: RunningServer;
  env: Record<string, string>;
  stop: () => Promise<void>;
}

/** What `startStack` starts. */
export interface StackOptions {
  replica?: boolean;
  redis?: 'standalone' | 'cluster' | 'none';
  storage?: 's3' | 'volume';
  extraEnv?: Record<string, string>;
  readYourWritesMs?: number;
}

/** Starts Postgres (+replica), optional Redis and S3, migrates, and starts the API with `extraEnv`. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  // What has started so far, stopped in reverse when a later part fails: a leaked Postgres or Redis would keep
  // mocha's process alive after its summary, and CI would wait for it until its own limit.
  const started: Array<() => Promise<unknown>> = [];
  const stopStarted = async () => {
    for (const stop of [...started].reverse()) await stop().catch(() => undefined);
  };
  try {
    return { ...(await startParts(opts, started)), stop: stopStarted };
  } catch (err) {
    await stopStarted();
    throw err;
  }
}

/** Starts the parts of a stack, each pushing its stop onto `started` (the API last, so it stops first). */
async function startParts(opts: StackOptions, started: Array<() => Promise<unknown>>): Promise<Omit<Stack, 'stop'>> {
  const pg = await startPostgres({ replica: opts.replica ?? true });
  started.push(() => pg.stop());
  const redis = opts.redis === 'cluster' ? await startRedisCluster() : opts.redis === 'standalone' ? await startRedis() : null;
  if (redis) started.push(() => redis.stop());
  const s3 = opts.storage === 's3' ? await startS3() : null;
  if (s3) started.push(() => s3.stop());
  const volume = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-vol-'));
  started.push(() => fs.rm(volume, { recursive: true, force: true }));
  const env: Record<string, string> = {
    PORT: '0', GRAMINSTA_METRICS_PORT: '0',
    GRAMINSTA_DB_HOST: pg.primary.host,
    GRAMINSTA_DB_PORT: String(pg.primary.port),
    GRAMINSTA_DB_PASSWORD: pg.password,
    GRAMINSTA_DB_REPLICA_HOSTS: pg.replica ? `${pg.replica.host}:${pg.replica.port}` : '',
    GRAMINSTA_REDIS_MODE: redis ? redis.mode : 'none',
    GRAMINSTA_REDIS_NODES: redis ? redis.nodes.join(',') : '',
    GRAMINSTA_TOKEN_SECRET: 'test-secret-0123456789abcdef',
    GRAMINSTA_STORAGE: opts.storage ?? 'volume',
    GRAMINSTA_VOLUME_PATH: volume,
    GRAMINSTA_MAX_UPLOAD_BYTES: String(64 * 1024),
    GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    ...(s3 ? { GRAMINSTA_S3_BUCKET: s3.bucket, GRAMINSTA_S3_ENDPOINT: s3.endpoint, GRAMINSTA_S3_FORCE_PATH_STYLE: 'true' } : {}),
    ...opts.extraEnv,
  };
  const log = createLogger((env.LOG_LEVEL as 'error') ?? 'error');
  await runMigrate(loadConfig(env, 'migrate'), log);
  await pg.waitForReplication();
  const cfg = loadConfig(env, 'api');
  const storage = s3 ? s3Storage({ ...cfg.storage.s3, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }) : undefined;
  const api = await startApi(cfg, log, { readYourWritesMs: opts.readYourWritesMs ?? 2000, ...(storage ? { storage } : {}) });
  started.push(() => api.shutdown(2000));
  return {
    pg,
    redis,
    s3,
    volume,
    api,
    env,
  };
}

/** A tiny JSON client for the API. */
export function client(base: string) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return async function call(method: string, p: string, opts: { token?: string; body?: unknown; raw?: BodyInit; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: BodyInit | undefined = opts.raw;
    if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    }
    const res = await fetch(base + p, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
}

/** A valid 1x1 PNG (chunks and CRCs complete: the content check validates the whole body). */
export const PNG = pngBytes(1, 1);

/** A structurally complete tiny JPEG (SOI, SOF0 of 3x2, SOS, entropy-coded bytes, EOI): enough for the content check. */
export const JPEG = Buffer.concat([Buffer.from('ffd8ffc0000b080002000301011100ffda0008010100003f00', 'hex'), Buffer.alloc(32, 0), Buffer.from('ffd9', 'hex')]);
