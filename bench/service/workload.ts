// The shape of one load run (what the bench hands the load-generator process) and the Zipf-like key sampler.

/** One load run, as the bench passes it. */
export interface Workload {
  url: string;
  connections: number;
  /** Run for this long (seconds) unless `paths` bounds the run. */
  seconds: number;
  method?: 'GET' | 'PUT';
  headers?: Record<string, string>;
  /** base64 request body. */
  bodyBase64?: string;
  /** One fixed path (default '/'). */
  path?: string;
  /** A Zipf-like spread: path `${prefix}${rank}` with rank in 1..n drawn with weight 1/rank^s. */
  zipf?: { prefix: string; n: number; s: number };
  /** Each path once, in order (fresh upload slots); the run ends when they are used up. */
  paths?: string[];
}

/** What the worker prints. */
export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** A sampler of ranks 1..n with P(rank) proportional to 1/rank^s (inverse CDF by binary search). */
export function zipfSampler(n: number, s: number, random: () => number = Math.random): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) cdf[k - 1] = sum += 1 / k ** s;
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}


/** The environment of a bench's API process on a volume: the database (with replicas when given), no Redis, no shutdown delay. */
export function apiProcessEnv(db: { host: string; port: number; password: string; replicas?: string }, volume: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    GRAMINSTA_DB_HOST: db.host,
    GRAMINSTA_DB_PORT: String(db.port),
    GRAMINSTA_DB_PASSWORD: db.password,
    ...(db.replicas ? { GRAMINSTA_DB_REPLICA_HOSTS: db.replicas } : {}),
    GRAMINSTA_TOKEN_SECRET: 'bench-secret-0123456789',
    GRAMINSTA_VOLUME_PATH: volume,
    GRAMINSTA_REDIS_MODE: 'none',
    GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...extra,
  };
}

/** Near-cache lookups of an API process by result, read from its /metrics text. */
export interface NearCounts {
  hit: number;
  miss: number;
  bypass: number;
}

/** The `graminsta_cache_near_requests_total` counts in a Prometheus text exposition (0 for a result not yet seen); null without the metric (no near cache). */
export function nearCounts(metricsText: string): NearCounts | null {
  if (!metricsText.includes('# TYPE graminsta_cache_near_requests_total')) return null;
  const count = (result: string) => Number(new RegExp(`^graminsta_cache_near_requests_total\\{result="${result}"\\} (\\d+(?:\\.\\d+)?)$`, 'm').exec(metricsText)?.[1] ?? 0);
  return { hit: count('hit'), miss: count('miss'), bypass: count('bypass') };
}

/** The share of near hits among the lookups between two readings, in percent; NaN when there were none. */
export function nearHitPercent(before: NearCounts, after: NearCounts): number {
  const hit = after.hit - before.hit;
  const all = hit + (after.miss - before.miss) + (after.bypass - before.bypass);
  return all > 0 ? (100 * hit) / all : NaN;
}
