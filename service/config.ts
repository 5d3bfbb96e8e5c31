// The service's configuration: the only module that reads the environment (see docs/service-env.md).
import type { DatabaseConnection } from './db/database.js';

/** The process modes one image runs in. */
export type Mode = 'api' | 'web' | 'migrate' | 'origin';

/** Everything the service needs from its environment, parsed and checked. */
export interface Config {
  mode: Mode;
  port: number;
  db: DatabaseConnection;
  redis: { mode: 'none' | 'standalone' | 'cluster'; nodes: { host: string; port: number }[]; password: string };
  cacheTtlSeconds: number;
  /** Near cache in each API process in front of Redis: the longest a copy is kept (0 = off) and how many copies at most. */
  nearCache: { maxAgeMs: number; maxEntries: number };
  storage: {
    kind: 's3' | 'volume' | 'origin';
    volumePath: string;
    originUrl: string;
    originToken: string;
    s3: { bucket: string; region: string; endpoint: string; forcePathStyle: boolean };
  };
  cdnBaseUrl: string;
  publicApiUrl: string;
  tokenSecret: string;
  maxUploadBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  webRoot: string;
  /** After SIGTERM, how long the server keeps serving (readiness failing, `Connection: close`) before it stops listening. */
  shutdownDelaySeconds: number;
}

/** A configuration problem naming the variable, raised at start. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, def: string): string {
  const v = env[name];
  return v === undefined || v === '' ? def : v;
}

function required(env: Env, name: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(`${name} is required`);
  return v;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function oneOf<T extends string>(env: Env, name: string, def: T, allowed: readonly T[]): T {
  const v = str(env, name, def);
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const v = str(env, name, String(def)).toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(v)}`);
}

function hostList(env: Env, name: string, defaultPort: number | null): { host: string; port: number }[] {
  const raw = str(env, name, '');
  if (!raw) return [];
  return raw.split(',').map((part) => {
    const item = part.trim();
    const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?$/.exec(item);
    if (!m || (m[2] === undefined && defaultPort === null)) throw new ConfigError(`${name} must be a comma-separated list of host${defaultPort === null ? ':port' : '[:port]'}, got ${JSON.stringify(item)}`);
    const port = m[2] === undefined ? defaultPort! : Number(m[2]);
    if (port < 1 || port > 65535) throw new ConfigError(`${name}: port out of range in ${JSON.stringify(item)}`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

function url(env: Env, name: string): string {
  const v = str(env, name, '').replace(/\/+$/, '');
  if (v && !/^https?:\/\/[^\s]+$/.test(v)) throw new ConfigError(`${name} must be an http(s) URL, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses the environment for `mode` (argv wins over GRAMINSTA_MODE); throws ConfigError naming the bad variable. */
export function loadConfig(env: Env = process.env, argvMode?: string): Config {
  const modeRaw = argvMode ?? str(env, 'GRAMINSTA_MODE', 'api');
  const modes: Mode[] = ['api', 'web', 'migrate', 'origin'];
  if (!modes.includes(modeRaw as Mode)) throw new ConfigError(`mode must be one of ${modes.join(', ')} (argv[2] or GRAMINSTA_MODE), got ${JSON.stringify(modeRaw)}`);
  const mode = modeRaw as Mode;
  const needsDb = mode === 'api' || mode === 'migrate';
  const dbPort = int(env, 'GRAMINSTA_DB_PORT', 5432, 1, 65535);
  const storageKind = oneOf(env, 'GRAMINSTA_STORAGE', 'volume', ['s3', 'volume', 'origin'] as const);
  const redisMode = oneOf(env, 'GRAMINSTA_REDIS_MODE', 'none', ['none', 'standalone', 'cluster'] as const);
  const cfg: Config = {
    mode,
    port: int(env, 'PORT', 8080, 0, 65535),
    db: {
      host: needsDb ? required(env, 'GRAMINSTA_DB_HOST') : str(env, 'GRAMINSTA_DB_HOST', ''),
      port: dbPort,
      name: str(env, 'GRAMINSTA_DB_NAME', 'graminsta'),
      user: str(env, 'GRAMINSTA_DB_USER', 'graminsta'),
      password: needsDb ? required(env, 'GRAMINSTA_DB_PASSWORD') : str(env, 'GRAMINSTA_DB_PASSWORD', ''),
      ssl: oneOf(env, 'GRAMINSTA_DB_SSLMODE', 'disable', ['disable', 'require'] as const) === 'require',
      replicas: hostList(env, 'GRAMINSTA_DB_REPLICA_HOSTS', dbPort),
      poolSize: int(env, 'GRAMINSTA_DB_POOL_SIZE', 10, 1, 1000),
      retrySeconds: int(env, 'GRAMINSTA_DB_RETRY_SECONDS', 20, 0, 600),
    },
    redis: { mode: redisMode, nodes: hostList(env, 'GRAMINSTA_REDIS_NODES', 6379), password: str(env, 'GRAMINSTA_REDIS_PASSWORD', '') },
    cacheTtlSeconds: int(env, 'GRAMINSTA_CACHE_TTL_SECONDS', 30, 1, 86400),
    nearCache: { maxAgeMs: int(env, 'GRAMINSTA_NEAR_CACHE_MS', 5000, 0, 60000), maxEntries: int(env, 'GRAMINSTA_NEAR_CACHE_ENTRIES', 20000, 1, 10000000) },
    storage: {
      kind: storageKind,
      volumePath: str(env, 'GRAMINSTA_VOLUME_PATH', '/data/images'),
      originUrl: url(env, 'GRAMINSTA_ORIGIN_URL'),
      originToken: str(env, 'GRAMINSTA_ORIGIN_TOKEN', ''),
      s3: {
        bucket: str(env, 'GRAMINSTA_S3_BUCKET', ''),
        region: str(env, 'GRAMINSTA_S3_REGION', 'us-east-1'),
        endpoint: url(env, 'GRAMINSTA_S3_ENDPOINT'),
        forcePathStyle: bool(env, 'GRAMINSTA_S3_FORCE_PATH_STYLE', false),
      },
    },
    cdnBaseUrl: url(env, 'GRAMINSTA_CDN_BASE_URL'),
    publicApiUrl: url(env, 'GRAMINSTA_PUBLIC_API_URL'),
    tokenSecret: mode === 'api' ? required(env, 'GRAMINSTA_TOKEN_SECRET') : str(env, 'GRAMINSTA_TOKEN_SECRET', ''),
    maxUploadBytes: int(env, 'GRAMINSTA_MAX_UPLOAD_BYTES', 10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error'] as const),
    webRoot: str(env, 'GRAMINSTA_WEB_ROOT', ''),
    shutdownDelaySeconds: int(env, 'GRAMINSTA_SHUTDOWN_DELAY_SECONDS', 5, 0, 300),
  };
  if (mode === 'api' && cfg.tokenSecret.length < 16) throw new ConfigError('GRAMINSTA_TOKEN_SECRET must be at least 16 characters');
  if (redisMode !== 'none' && cfg.redis.nodes.length === 0) throw new ConfigError(`GRAMINSTA_REDIS_NODES is required when GRAMINSTA_REDIS_MODE is ${redisMode}`);
  if (mode === 'api' && storageKind === 's3' && !cfg.storage.s3.bucket) throw new ConfigError('GRAMINSTA_S3_BUCKET is required when GRAMINSTA_STORAGE is s3');
  if (mode === 'api' && storageKind === 'origin' && (!cfg.storage.originUrl || !cfg.storage.originToken)) throw new ConfigError('GRAMINSTA_ORIGIN_URL and GRAMINSTA_ORIGIN_TOKEN are required when GRAMINSTA_STORAGE is origin');
  if (mode === 'origin' && !cfg.storage.originToken) throw new ConfigError('GRAMINSTA_ORIGIN_TOKEN is required in origin mode');
  return cfg;
}
