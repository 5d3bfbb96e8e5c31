// Prometheus metrics of the service, on a registry of its own.
import client from 'prom-client';

/** The service's metrics; one instance per process (or per test app). */
export interface Metrics {
  registry: client.Registry;
  httpDuration: client.Histogram<'method' | 'route' | 'status'>;
  cacheRequests: client.Counter<'result'>;
  cacheFallbacks: client.Counter<'operation'>;
  nearCacheRequests: client.Counter<'result'>;
  nearCacheResets: client.Counter<'reason'>;
  dbReads: client.Counter<'target'>;
  replicaFallbacks: client.Counter<'reason'>;
  dbUnavailable: client.Counter<'pool'>;
  dbRetries: client.Counter<'pool'>;
  /** Rate-limit hits Redis did not count (the in-process count was used instead). */
  rateLimitStoreErrors: client.Counter;
  /** Sets where the pool gauges read their numbers from at scrape time. */
  setPoolStats: (fn: () => PoolStat[]) => void;
  /** Sets where the password-hash gauges read their numbers from at scrape time. */
  setHashStats: (fn: () => HashStat) => void;
}

/** Counts of the password-hash limiter. */
export interface HashStat {
  inFlight: number;
  queued: number;
  maxInFlight: number;
  rejected: number;
}

/** Connection counts of one pool. */
export interface PoolStat {
  pool: string;
  total: number;
  idle: number;
  waiting: number;
}

/** Creates the metrics on a fresh registry. */
export function createMetrics(): Metrics {
  let poolStats: () => PoolStat[] = () => [];
  let hashStats: () => HashStat = () => ({ inFlight: 0, queued: 0, maxInFlight: 0, rejected: 0 });
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const cacheRequests = new client.Counter({ name: 'graminsta_cache_requests_total', help: 'Profile cache lookups by result (hit, miss, error)', labelNames: ['result'] as const, registers: [registry] });
  const cacheFallbacks = new client.Counter({
    name: 'graminsta_cache_unavailable_total',
    help: 'Cache operations that failed because Redis was unreachable; the request was served from Postgres',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const nearCacheRequests = new client.Counter({
    name: 'graminsta_cache_near_requests_total',
    help: 'Near cache lookups by result (hit, miss, bypass while the invalidation channel is not healthy) and fills refused because an invalidation raced the read (raced)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const nearCacheResets = new client.Counter({
    name: 'graminsta_cache_near_resets_total',
    help: 'Times every near copy was dropped because invalidations may have been lost (reconnect, sequence gap, missing heartbeat)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const dbReads = new client.Counter({ name: 'graminsta_db_reads_total', help: 'Read queries by the pool that served them (primary, replica)', labelNames: ['target'] as const, registers: [registry] });
  const replicaFallbacks = new client.Counter({
    name: 'graminsta_db_replica_fallbacks_total',
    help: 'Reads sent to the primary because no replica answered',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const dbUnavailable = new client.Counter({ name: 'graminsta_db_unavailable_total', help: 'Queries that failed because a database server was unreachable', labelNames: ['pool'] as const, registers: [registry] });
  const dbRetries = new client.Counter({
    name: 'graminsta_db_retries_total',
    help: 'Queries and transactions attempted again because the database server could not be reached or went away (e.g. a restart)',
    labelNames: ['pool'] as const,
    registers: [registry],
  });
  const rateLimitStoreErrors = new client.Counter({
    name: 'graminsta_ratelimit_store_errors_total',
    help: 'Rate-limit hits that Redis did not answer; they were counted in process instead',
    registers: [registry],
  });
  new client.Gauge({
    name: 'graminsta_db_pool_connections',
    help: 'Postgres pool connections by pool and state (total, idle, waiting clients)',
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const s of poolStats()) {
        this.set({ pool: s.pool, state: 'total' }, s.total);
        this.set({ pool: s.pool, state: 'idle' }, s.idle);
        this.set({ pool: s.pool, state: 'waiting' }, s.waiting);
      }
    },
  });
  new client.Gauge({
    name: 'graminsta_password_hashes',
    help: 'Password hashes running (in_flight), waiting for a slot (queued), and the most that ever ran at once (max_in_flight)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const h = hashStats();
      this.set({ state: 'in_flight' }, h.inFlight);
      this.set({ state: 'queued' }, h.queued);
      this.set({ state: 'max_in_flight' }, h.maxInFlight);
    },
  });
  new client.Counter({
    name: 'graminsta_password_hash_rejected_total',
    help: 'Log-ins and sign-ups answered 503 server_busy because the password-hash queue was full',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(hashStats().rejected);
    },
  });
  return { setHashStats: (fn) => (hashStats = fn), registry, httpDuration, cacheRequests, cacheFallbacks, nearCacheRequests, nearCacheResets, dbReads, replicaFallbacks, dbUnavailable, dbRetries, rateLimitStoreErrors, setPoolStats: (fn) => (poolStats = fn) };
}
