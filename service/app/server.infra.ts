// The composition root: builds each mode from the configuration (drivers and repositories → services → routes → app),
// listens, and shuts down gracefully.
import http from 'node:http';
import path from 'node:path';
import type Koa from 'koa';
import type { Config, StorageConfig } from '../config.js';
import type { Logger } from '../log.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import type { Redis, Cluster } from 'ioredis';
import { createRedis } from '../cache/redis.infra.js';
import { noProfileCache, redisProfileCache, type NearTier, type ProfileCache } from '../cache/profile-cache.repository.js';
import { NearCache } from '../cache/near-cache.js';
import { redisInvalidationChannel } from '../cache/invalidation.repository.js';
import { RotatingSubscriber, type NodeAddress } from '../cache/cluster-subscriber.infra.js';
import type { Profile } from '../users/user.repository.js';
import { createUserService } from '../users/user.service.js';
import { createPhotoService } from '../photos/photo.service.js';
import { createApiApp } from './api.app.js';
import type { Readiness } from '../http/probes.js';
import type { FastRead } from '../http/fast-response.js';
import { createOriginApp } from '../origin/origin.app.js';
import { createWebApp } from '../webmode/web.app.js';
import { packageRoot } from '../webmode/static-files.infra.js';
import type { ObjectStorage } from '../storage/storage.js';
import { s3Storage } from '../storage/s3.storage.js';
import { volumeStorage } from '../storage/volume.storage.js';
import { originStorage } from '../storage/origin.storage.js';
import { syncImages, type ImageSyncResult } from '../sync/image-sync.service.js';
import { createLimiter } from '../ratelimit/limiter.service.js';
import { memoryWindowCounter, redisWindowCounter } from '../ratelimit/window.repository.js';
import { listPhotoKeys, photoKeyExists } from '../sync/photo-keys.repository.js';
import { createHashLimiter, type HashLimiter } from '../auth/hash-limiter.js';
import { createSweeper, type Sweeper } from '../sweep/sweeper.service.js';
import { serveMetrics, type MetricsServer } from './metrics-server.infra.js';
import { postgresExporter, redisExporter, type Exporter } from '../exporter/exporter.service.js';
import { readPostgresStats } from '../exporter/postgres-stats.repository.js';
import { readRedisInfo } from '../exporter/redis-info.repository.js';

/** A listening server of any mode. */
export interface RunningServer {
  url: string;
  port: number;
  /** The metrics listener (GRAMINSTA_METRICS_PORT): GET /metrics, apart from the public port. */
  metricsUrl: string;
  metrics: Metrics;
  /** Fails readiness and keeps serving for the shutdown delay, then stops accepting connections, drains in-flight requests (up to `timeoutMs`) and closes dependencies. */
  shutdown: (timeoutMs?: number) => Promise<void>;
  /** Extra handles for tests. */
  db?: Database;
  cache?: ProfileCache;
  hashLimiter?: HashLimiter;
  sweeper?: Sweeper;
}

/** How `serve` listens and shuts down. */
interface ServeOptions {
  port: number;
  /** The metrics listener's port and what it serves. */
  metricsPort: number;
  metrics: Metrics;
  log: Logger;
  /** Closes the mode's dependencies once no request is left. */
  onClose: () => Promise<void>;
  /** Set at the start of shutdown: readiness fails and responses carry `Connection: close`. */
  draining: { value: boolean };
  /** How long to keep listening after shutdown starts, so endpoints and ingress upstreams stop routing here first. */
  shutdownDelayMs: number;
  /**
   * A keep-alive connection older than this gets `Connection: close` on its next response, so clients open a new one
   * through the Service and follow endpoint changes (kube-proxy keeps an established connection on its pod for good);
   * 0: never. The operator's traffic switch waits longer than this before it copies what the old pods took in.
   */
  maxConnectionAgeMs: number;
  /** Node's server timeouts (GRAMINSTA_HTTP_*_TIMEOUT_SECONDS): a client that stalls its head or body is cut off. */
  http: Config['http'];
  /** Reads answered before Koa (the API's near-cache hits); false hands the request to Koa. */
  fastRead?: FastRead;
  sleep?: (ms: number) => Promise<void>;
}

const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Listens with `app` and tracks in-flight requests so shutdown can drain them. */
async function serve(app: Koa, opts: ServeOptions): Promise<{ url: string; port: number; metricsUrl: string; shutdown: (t?: number) => Promise<void> }> {
  const { log, draining, onClose } = opts;
  const sleep = opts.sleep ?? sleepMs;
  let inflight = 0;
  let idle: (() => void) | null = null;
  // Once: app.callback() composes the middleware anew on every call.
  const handle = app.callback();
  const opened = new WeakMap<object, number>();
  const timeouts = {
    headersTimeout: opts.http.headersTimeoutMs,
    requestTimeout: opts.http.requestTimeoutMs,
    keepAliveTimeout: opts.http.keepAliveTimeoutMs,
    // Node checks the head and request timeouts on this interval (30 s by default: a stalled client would stay that much longer).
    connectionsCheckingInterval: Math.min(1000, opts.http.headersTimeoutMs),
  };
  // One function for every response ('close' is the one event that also ends an aborted one), not a closure per request.
  function ended(): void {
    inflight--;
    if (inflight === 0 && idle) idle();
  }
  const server = http.createServer(timeouts, (req, res) => {
    inflight++;
    res.once('close', ended);
    const age = Date.now() - (opened.get(req.socket) ?? Date.now());
    if (draining.value || (opts.maxConnectionAgeMs > 0 && age >= opts.maxConnectionAgeMs)) res.setHeader('Connection', 'close');
    if (!opts.fastRead?.(req, res)) void handle(req, res);
  });
  server.on('connection', (socket) => opened.set(socket, Date.now()));
  const metricsServer = await serveMetrics(opts.metrics.registry, opts.metricsPort, log);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, '0.0.0.0', () => resolve());
    });
  } catch (err) {
    await metricsServer.close();
    throw err;
  }
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : opts.port;
  log.info('listening', { port: actual });
  let closing: Promise<void> | null = null;
  const shutdown = (timeoutMs = 25000) =>
    (closing ??= (async () => {
      draining.value = true;
      if (opts.shutdownDelayMs > 0) {
        // Still listening: Services and ingresses route here until they see /readyz fail; keep-alive clients are told to reconnect.
        log.info('shutting down: still serving until endpoints stop routing here', { delayMs: opts.shutdownDelayMs });
        await sleep(opts.shutdownDelayMs);
      }
      log.info('shutting down: draining in-flight requests', { inflight });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drained = inflight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      if ((await Promise.race([drained.then(() => 'drained' as const), timedOut])) === 'timeout') log.warn('drain timed out; closing remaining connections', { inflight });
      clearTimeout(timer);
      server.closeAllConnections();
      await closed;
      await onClose();
      // Last: a scrape during the drain still sees the final counts.
      await metricsServer.close();
      log.info('shut down');
    })());
  return { url: `http://127.0.0.1:${actual}`, port: actual, metricsUrl: metricsServer.url, shutdown };
}

/** The storage driver the settings ask for. */
export function createStorage(storage: StorageConfig): ObjectStorage {
  switch (storage.kind) {
    case 's3':
      return s3Storage(storage.s3);
    case 'origin':
      return originStorage(storage.originUrl, storage.originToken);
    default:
      return volumeStorage(storage.volumePath);
  }
}

/** The listening and shutdown settings every mode shares. */
function serveOptions(cfg: Config, log: Logger, draining: { value: boolean }, metrics: Metrics): Omit<ServeOptions, 'onClose'> {
  return { port: cfg.port, metricsPort: cfg.metricsPort, metrics, log, draining, shutdownDelayMs: cfg.shutdownDelaySeconds * 1000, maxConnectionAgeMs: cfg.maxConnectionAgeSeconds * 1000, http: cfg.http };
}

/** Ready unless the server is draining. */
function notDraining(draining: { value: boolean }): Readiness {
  return () => (draining.value ? { ok: false, reason: 'shutting down' } : { ok: true });
}

/** The cluster's nodes as the client knows them now, or the configured seeds while it knows none. */
function clusterNodes(cluster: Cluster, seeds: NodeAddress[]): NodeAddress[] {
  const known = cluster.nodes('all').flatMap((n) => (n.options.host && n.options.port ? [{ host: n.options.host, port: n.options.port }] : []));
  return known.length > 0 ? known : seeds;
}

/** The near cache and its invalidation channel (a dedicated subscriber connection), unless GRAMINSTA_NEAR_CACHE_MS is 0. */
function nearTier(cfg: Config, redis: Redis | Cluster, metrics: Metrics, log: Logger): NearTier | undefined {
  if (cfg.nearCache.maxAgeMs === 0) return undefined;
  const store = new NearCache<Profile>(cfg.nearCache.maxEntries);
  // Cluster: a standalone connection to one node at a time, not ioredis' cluster subscriber (cache/cluster-subscriber.infra.ts).
  const subscriber = redis.isCluster ? new RotatingSubscriber({ nodes: () => clusterNodes(redis as Cluster, cfg.redis.nodes), password: cfg.redis.password || undefined }) : (redis as Redis).duplicate();
  const channel = redisInvalidationChannel(redis, subscriber, {
    onInvalidate: (id) => store.delete(id),
    onReset: (reason, detail) => {
      store.clear();
      metrics.nearCacheResets.inc({ reason });
      log.debug('near cache reset', { reason, detail });
    },
    log,
  });
  return { store, channel, maxAgeMs: cfg.nearCache.maxAgeMs };
}

/** Starts API mode. */
export async function startApi(cfg: Config, log: Logger, opts: { readYourWritesMs?: number; storage?: ObjectStorage; sweepIntervalMs?: number; now?: () => number } = {}): Promise<RunningServer> {
  const metrics = createMetrics();
  const db = new Database({ ...cfg.db, readYourWritesMs: opts.readYourWritesMs }, metrics, log);
  const redis = cfg.redis.mode === 'none' ? null : createRedis({ mode: cfg.redis.mode, nodes: cfg.redis.nodes, password: cfg.redis.password }, log);
  const cache = redis ? redisProfileCache(redis, cfg.cacheTtlSeconds, metrics, nearTier(cfg, redis, metrics, log)) : noProfileCache();
  const storage = opts.storage ?? createStorage(cfg.storage);
  const hashLimiter = createHashLimiter({ concurrency: cfg.hygiene.hashConcurrency, queue: cfg.hygiene.hashQueue });
  metrics.setHashStats(() => hashLimiter.stats());
  const users = createUserService({ db, cache, tokenSecret: cfg.tokenSecret, reinvalidateMs: opts.readYourWritesMs, hashLimiter, log });
  const sweeper = createSweeper({ db, storage, log, uploadTtlSeconds: cfg.hygiene.uploadTtlSeconds, intervalMs: opts.sweepIntervalMs ?? cfg.hygiene.sweepIntervalSeconds * 1000 });
  const photos = createPhotoService({ db, storage, log, maxUploadBytes: cfg.maxUploadBytes, maxOpenUploads: cfg.hygiene.maxOpenUploads, uploadTtlSeconds: cfg.hygiene.uploadTtlSeconds, cdnBaseUrl: cfg.cdnBaseUrl, publicApiUrl: cfg.publicApiUrl, invalidateProfiles: users.invalidate });
  const draining = { value: false };
  // Ready once the primary has answered, and while it answered within the retry bound: every API pod shares the
  // primary, so if a restart of it made them all unready at once the Service would have no endpoint and refuse
  // every request, while the statements themselves wait through the restart (GRAMINSTA_DB_RETRY_SECONDS).
  // Past the bound, still ready while a read replica answers: reads go on (writes answer 503) through the
  // primary's loss instead of every API pod leaving its Service.
  let primaryAnsweredAt: number | undefined;
  const ready: Readiness = async () => {
    if (draining.value) return { ok: false, reason: 'shutting down' };
    try {
      await db.pingPrimary();
      primaryAnsweredAt = Date.now();
      return { ok: true };
    } catch {
      if (primaryAnsweredAt !== undefined && Date.now() - primaryAnsweredAt < cfg.db.retrySeconds * 1000) return { ok: true };
      if (primaryAnsweredAt !== undefined && (await db.replicaAnswers())) return { ok: true };
      return { ok: false, reason: 'the primary database does not answer' };
    }
  };
  // On a volume, another process can copy images in or out over HTTP with the origin token (sync-images, a topology move).
  const origin = storage.kind === 'volume' && cfg.storage.originToken ? { storage, token: cfg.storage.originToken, maxUploadBytes: cfg.maxUploadBytes } : undefined;
  // Shared by every API pod through Redis when the cache tier exists; per process otherwise.
  const limiter = cfg.rateLimits.enabled ? createLimiter({ counter: redis ? redisWindowCounter(redis, metrics) : memoryWindowCounter(), now: opts.now }) : null;
  const { app, fastRead } = createApiApp({ log, metrics, users, photos, ready, origin, maxUploadBytes: cfg.maxUploadBytes, limits: { limiter, rules: cfg.rateLimits }, trustProxyHops: cfg.trustProxyHops });
  const s = await serve(app, {
    ...serveOptions(cfg, log, draining, metrics),
    fastRead,
    onClose: async () => {
      await sweeper.stop();
      await cache.close();
      await db.close();
    },
  });
  sweeper.start();
  return { ...s, metrics, db, cache, hashLimiter, sweeper };
}

/** Starts origin mode. */
export async function startOrigin(cfg: Config, log: Logger): Promise<RunningServer> {
  const metrics = createMetrics();
  const draining = { value: false };
  const app = createOriginApp({ log, metrics, storage: volumeStorage(cfg.storage.volumePath), token: cfg.storage.originToken, maxUploadBytes: cfg.maxUploadBytes, ready: notDraining(draining) });
  const s = await serve(app, { ...serveOptions(cfg, log, draining, metrics), onClose: async () => undefined });
  return { ...s, metrics };
}

/** Starts web mode. */
export async function startWeb(cfg: Config, log: Logger): Promise<RunningServer> {
  const metrics = createMetrics();
  const root = cfg.webRoot || path.join(packageRoot(), 'service', 'web', 'dist');
  const draining = { value: false };
  const app = createWebApp({ log, metrics, root, apiBaseUrl: cfg.publicApiUrl, cdnBaseUrl: cfg.cdnBaseUrl, ready: notDraining(draining) });
  const s = await serve(app, { ...serveOptions(cfg, log, draining, metrics), onClose: async () => undefined });
  return { ...s, metrics };
}

/** A running exporter: its metrics listener, closed with the connection it reads through. */
export interface RunningExporter extends MetricsServer {
  exporter: Exporter;
}

/** Starts exporter mode: the metrics sidecar of a Postgres or Redis pod, serving only GRAMINSTA_METRICS_PORT. */
export async function startExporter(cfg: Config, log: Logger): Promise<RunningExporter> {
  let exporter: Exporter;
  let closeSource: () => Promise<void>;
  if (cfg.exporter?.target === 'redis') {
    const redis = createRedis({ mode: 'standalone', nodes: cfg.redis.nodes, password: cfg.redis.password }, log) as Redis;
    exporter = redisExporter(() => readRedisInfo(redis));
    closeSource = async () => void redis.disconnect();
  } else {
    // Statistics only: no retries (a scrape that cannot read says pg_up 0), two connections at most.
    const db = new Database({ ...cfg.db, replicas: [], poolSize: 2, retrySeconds: 0 }, createMetrics(), log);
    exporter = postgresExporter(() => readPostgresStats(db.write()));
    closeSource = () => db.close();
  }
  const server = await serveMetrics(exporter, cfg.metricsPort, log);
  return {
    ...server,
    exporter,
    close: async () => {
      await server.close();
      await closeSource();
    },
  };
}

/** Runs migrate mode to completion. */
export async function runMigrate(cfg: Config, log: Logger): Promise<number[]> {
  return await migrate(cfg.db, log);
}

/** Runs sync-images to completion: copies every photo's image from GRAMINSTA_SYNC_FROM_* to the mode's own store, and logs the counts. */
export async function runSyncImages(cfg: Config, log: Logger): Promise<ImageSyncResult> {
  if (!cfg.syncFrom) throw new Error('sync-images needs a source store (GRAMINSTA_SYNC_FROM_STORAGE)');
  const db = new Database({ ...cfg.db, replicas: [], poolSize: 2 }, createMetrics(), log);
  try {
    // The primary: a photo created a moment ago must be listed, and a re-check must see a deletion.
    const result = await syncImages({
      listKeys: () => listPhotoKeys(db.write()),
      stillListed: (key) => photoKeyExists(db.write(), key),
      source: createStorage(cfg.syncFrom),
      target: createStorage(cfg.storage),
      log,
    });
    const { missingKeys, ...counts } = result;
    if (missingKeys.length === 0) log.info('images synced', counts);
    else log.error(`images missing from both stores: ${missingKeys.slice(0, 10).join(', ')}${missingKeys.length > 10 ? ` and ${missingKeys.length - 10} more` : ''}`, counts);
    return result;
  } finally {
    await db.close();
  }
}
