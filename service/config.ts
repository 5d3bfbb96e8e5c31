// The service's configuration: the only module that reads the environment (see docs/service-env.md).
import { readFileSync } from 'node:fs';
import type { DatabaseConnection } from './db/database.js';
import { SSL_MODES, type DatabaseTls } from './db/tls.js';
import { DEFAULT_MAX_UPLOAD_BYTES } from './limits.js';

/** The process modes one image runs in. */
export type Mode = 'api' | 'web' | 'migrate' | 'origin' | 'sync-images' | 'exporter' | 'backup' | 'restore';

/** Where images live: the storage settings under one prefix (GRAMINSTA_ for the mode's own store, GRAMINSTA_SYNC_FROM_ for sync-images' source). */
export interface StorageConfig {
  kind: 's3' | 'volume' | 'origin';
  volumePath: string;
  originUrl: string;
  originToken: string;
  s3: { bucket: string; region: string; endpoint: string; forcePathStyle: boolean; credentials?: { accessKeyId: string; secretAccessKey: string } };
}

/** Everything the service needs from its environment, parsed and checked. */
export interface Config {
  mode: Mode;
  port: number;
  /** Port of the metrics listener (GET /metrics only), apart from the public port so that no Service for user traffic exposes it. */
  metricsPort: number;
  /** exporter mode only: the server whose statistics the sidecar exposes (null in every other mode). */
  exporter: { target: 'postgres' | 'redis' } | null;
  db: DatabaseConnection;
  redis: { mode: 'none' | 'standalone' | 'cluster'; nodes: { host: string; port: number }[]; password: string };
  cacheTtlSeconds: number;
  /** Near cache in each API process in front of Redis: the longest a copy is kept (0 = off) and how many copies at most. */
  nearCache: { maxAgeMs: number; maxEntries: number };
  storage: StorageConfig;
  /** sync-images only: the store images are copied from (null in every other mode). */
  syncFrom: StorageConfig | null;
  /** backup and restore only: where the backups are (the bucket is the S3 storage settings') and what to do (null in every other mode). */
  backup: BackupConfig | null;
  cdnBaseUrl: string;
  publicApiUrl: string;
  tokenSecret: string;
  maxUploadBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  webRoot: string;
  /** After SIGTERM, how long the server keeps serving (readiness failing, `Connection: close`) before it stops listening. */
  shutdownDelaySeconds: number;
  /** Keep-alive connections older than this are closed after their next response (clients rebalance); 0: never. */
  maxConnectionAgeSeconds: number;
  /** Password hashing and upload/session clean-up (see hygieneConfig). */
  hygiene: HygieneConfig;
  /** Node server timeouts: the whole request head, the whole request (head and body), and an idle keep-alive connection. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  /** How many proxies in front of the API append to X-Forwarded-For (0: the peer address is the client). */
  trustProxyHops: number;
  rateLimits: RateLimitsConfig;
}

/** The backup and restore modes' settings (GRAMINSTA_BACKUP_*, GRAMINSTA_RESTORE_*). */
export interface BackupConfig {
  /** Key prefix of the backups in the bucket, without slashes at its ends. */
  prefix: string;
  /** backup: the directory shared with the dump container (its pipe and status). */
  dir: string;
  /** backup: which backups to keep after a successful one; null keeps all. */
  retention: { count: number } | { days: number } | null;
  /** restore: the backup to fetch, a name or latest. */
  restoreBackup: string;
  /** restore: the data directory whose PG_VERSION says a database exists, and where the fetched dump goes. */
  restorePgdata: string;
  restoreDir: string;
  /** Where the outcome goes for Kubernetes to show (the container's terminationMessagePath); '' for nowhere. */
  terminationMessagePath: string;
}

/** Bounds on password hashing and on pending uploads, and the clean-up sweeper's schedule. */
export interface HygieneConfig {
  /** How many password hashes run at once, and how many more may wait before the API answers 503 server_busy. */
  hashConcurrency: number;
  hashQueue: number;
  /** Open (not yet a photo) uploads one account may hold; more answer 429 too_many_open_uploads. */
  maxOpenUploads: number;
  /** An upload slot not turned into a photo within this time expires; the sweeper deletes it and its file (at least the presigned PUT's 900 s). */
  uploadTtlSeconds: number;
  /** How often the sweeper removes expired upload slots, their files and expired sessions. */
  sweepIntervalSeconds: number;
}

/** One limited action: hits per client IP and per account within a fixed window (0 = no limit of that kind). */
export interface RateLimitRule {
  perIP: number;
  perAccount: number;
  windowSeconds: number;
}

/** The API's rate limits (GRAMINSTA_RATE_LIMIT_*). */
export interface RateLimitsConfig {
  enabled: boolean;
  login: RateLimitRule;
  signup: RateLimitRule;
  uploads: RateLimitRule;
}

/** Defaults of each rule: per IP, per account, window seconds. */
const RATE_LIMIT_DEFAULTS: Record<Exclude<keyof RateLimitsConfig, 'enabled'>, RateLimitRule> = {
  login: { perIP: 30, perAccount: 10, windowSeconds: 60 },
  signup: { perIP: 10, perAccount: 0, windowSeconds: 3600 },
  uploads: { perIP: 120, perAccount: 60, windowSeconds: 60 },
};

function rateLimitRule(env: Env, name: keyof typeof RATE_LIMIT_DEFAULTS): RateLimitRule {
  const d = RATE_LIMIT_DEFAULTS[name];
  const p = `GRAMINSTA_RATE_LIMIT_${name.toUpperCase()}_`;
  return { perIP: int(env, `${p}PER_IP`, d.perIP, 0, 1000000), perAccount: int(env, `${p}PER_ACCOUNT`, d.perAccount, 0, 1000000), windowSeconds: int(env, `${p}WINDOW_SECONDS`, d.windowSeconds, 1, 86400) };
}

/** A configuration problem naming the variable, raised at start. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

/** Reads a file named by a *_FILE variable (tests pass their own). */
export type ReadSecretFile = (path: string) => string;

/** The variables that may instead name a file holding their value, as `<NAME>_FILE` (a Secret mounted as a volume). */
export const FILE_VARIABLES = [
  'GRAMINSTA_DB_PASSWORD',
  'GRAMINSTA_REDIS_PASSWORD',
  'GRAMINSTA_TOKEN_SECRET',
  'GRAMINSTA_ORIGIN_TOKEN',
  'GRAMINSTA_SYNC_FROM_ORIGIN_TOKEN',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'GRAMINSTA_SYNC_FROM_AWS_ACCESS_KEY_ID',
  'GRAMINSTA_SYNC_FROM_AWS_SECRET_ACCESS_KEY',
] as const;

/**
 * The variables whose `<NAME>_FILE` names a file that is not read into the configuration but opened where it is used,
 * again each time (db/tls.ts reads the CA certificate at every new connection, so a renewed one applies at once).
 */
export const PATH_FILE_VARIABLES = ['GRAMINSTA_DB_SSLROOTCERT'] as const;

/**
 * The environment with every `<NAME>_FILE` of FILE_VARIABLES replaced by `<NAME>` holding the file's content (trailing
 * newlines dropped, as `$(cat file)` does), so secrets need not sit in the process environment.
 */
function withSecretFiles(env: Env, read: ReadSecretFile): Env {
  const out: Env = { ...env };
  for (const name of FILE_VARIABLES) {
    const path = env[`${name}_FILE`];
    if (!path) continue;
    if (env[name]) throw new ConfigError(`${name} and ${name}_FILE are both set; set one of them`);
    let value: string;
    try {
      value = read(path).replace(/(\r?\n)+$/, '');
    } catch (err) {
      throw new ConfigError(`${name}_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!value) throw new ConfigError(`${name}_FILE: ${path} is empty`);
    out[name] = value;
    delete out[`${name}_FILE`];
  }
  return out;
}

function str(env: Env, name: string, def: string): string {
  const v = env[name];
  return v === undefined || v === '' ? def : v;
}

function required(env: Env, name: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(`${name} is required (or ${name}_FILE, where the variable can name a file)`);
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

/** The storage settings under `prefix` (GRAMINSTA_STORAGE, GRAMINSTA_VOLUME_PATH, ... or the same names with another prefix). */
function storageConfig(env: Env, prefix: string, kind: StorageConfig['kind']): StorageConfig {
  return {
    kind,
    volumePath: str(env, `${prefix}VOLUME_PATH`, '/data/images'),
    originUrl: url(env, `${prefix}ORIGIN_URL`),
    originToken: str(env, `${prefix}ORIGIN_TOKEN`, ''),
    s3: {
      bucket: str(env, `${prefix}S3_BUCKET`, ''),
      region: str(env, `${prefix}S3_REGION`, 'us-east-1'),
      endpoint: url(env, `${prefix}S3_ENDPOINT`),
      forcePathStyle: bool(env, `${prefix}S3_FORCE_PATH_STYLE`, false),
    },
  };
}

/** sync-images' source: GRAMINSTA_SYNC_FROM_STORAGE is required; its S3 credentials may differ from the target's (AWS_* default chain). */
function syncSource(env: Env): StorageConfig {
  required(env, 'GRAMINSTA_SYNC_FROM_STORAGE');
  const kind = oneOf(env, 'GRAMINSTA_SYNC_FROM_STORAGE', 'volume', ['s3', 'volume', 'origin'] as const);
  const cfg = storageConfig(env, 'GRAMINSTA_SYNC_FROM_', kind);
  const id = str(env, 'GRAMINSTA_SYNC_FROM_AWS_ACCESS_KEY_ID', '');
  const secret = str(env, 'GRAMINSTA_SYNC_FROM_AWS_SECRET_ACCESS_KEY', '');
  if (Boolean(id) !== Boolean(secret)) throw new ConfigError('GRAMINSTA_SYNC_FROM_AWS_ACCESS_KEY_ID and GRAMINSTA_SYNC_FROM_AWS_SECRET_ACCESS_KEY go together');
  if (id) cfg.s3.credentials = { accessKeyId: id, secretAccessKey: secret };
  return cfg;
}

/** The target store's S3 credentials when they came from files (AWS_*_FILE); plain AWS_* stay with the SDK's default chain. */
function withFileCredentials(cfg: StorageConfig, rawEnv: Env, env: Env): StorageConfig {
  const id = rawEnv.AWS_ACCESS_KEY_ID_FILE;
  const secret = rawEnv.AWS_SECRET_ACCESS_KEY_FILE;
  if (!id && !secret) return cfg;
  if (!id || !secret) throw new ConfigError('AWS_ACCESS_KEY_ID_FILE and AWS_SECRET_ACCESS_KEY_FILE go together');
  return { ...cfg, s3: { ...cfg.s3, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! } } };
}

/** Refuses storage settings that cannot work; `writes` when the mode writes to the store (an origin then needs its token). */
function checkStorage(s: StorageConfig, prefix: string, writes: boolean): void {
  if (s.kind === 's3' && !s.s3.bucket) throw new ConfigError(`${prefix}S3_BUCKET is required when ${prefix}STORAGE is s3`);
  if (s.kind === 'origin' && writes && (!s.originUrl || !s.originToken)) throw new ConfigError(`${prefix}ORIGIN_URL and ${prefix}ORIGIN_TOKEN are required when ${prefix}STORAGE is origin`);
  if (s.kind === 'origin' && !s.originUrl) throw new ConfigError(`${prefix}ORIGIN_URL is required when ${prefix}STORAGE is origin`);
}

function sameStore(a: StorageConfig, b: StorageConfig): boolean {
  return a.kind === b.kind && describeStore(a) === describeStore(b);
}

function describeStore(s: StorageConfig): string {
  if (s.kind === 'volume') return `volume ${s.volumePath.replace(/\/+$/, '')}`;
  if (s.kind === 'origin') return `origin ${s.originUrl}`;
  return `s3 ${s.s3.endpoint || 'aws'} ${s.s3.region} ${s.s3.bucket}`;
}

// Password hashing, upload slots and the sweeper: a block of its own.
function hygieneConfig(env: Env): HygieneConfig {
  const threads = int(env, 'UV_THREADPOOL_SIZE', 4, 1, 1024);
  return {
    hashConcurrency: int(env, 'GRAMINSTA_HASH_CONCURRENCY', Math.max(1, threads - 2), 1, 1024),
    hashQueue: int(env, 'GRAMINSTA_HASH_QUEUE', 64, 0, 100000),
    maxOpenUploads: int(env, 'GRAMINSTA_MAX_OPEN_UPLOADS', 20, 1, 10000),
    uploadTtlSeconds: int(env, 'GRAMINSTA_UPLOAD_TTL_SECONDS', 3600, 900, 7 * 86400),
    sweepIntervalSeconds: int(env, 'GRAMINSTA_SWEEP_INTERVAL_SECONDS', 300, 1, 86400),
  };
}

/** backup and restore modes: GRAMINSTA_BACKUP_* and GRAMINSTA_RESTORE_*. */
function backupConfig(env: Env, mode: 'backup' | 'restore'): BackupConfig {
  const prefix = str(env, 'GRAMINSTA_BACKUP_PREFIX', '');
  if (!/^([A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*)?$/.test(prefix)) throw new ConfigError(`GRAMINSTA_BACKUP_PREFIX must be path segments of letters, digits, '.', '_' and '-' separated by '/', got ${JSON.stringify(prefix)}`);
  const count = env.GRAMINSTA_BACKUP_RETENTION_COUNT ? int(env, 'GRAMINSTA_BACKUP_RETENTION_COUNT', 0, 1, 10000) : undefined;
  const days = env.GRAMINSTA_BACKUP_RETENTION_DAYS ? int(env, 'GRAMINSTA_BACKUP_RETENTION_DAYS', 0, 1, 36500) : undefined;
  if (count !== undefined && days !== undefined) throw new ConfigError('GRAMINSTA_BACKUP_RETENTION_COUNT and GRAMINSTA_BACKUP_RETENTION_DAYS exclude each other; set one of them');
  const restoreBackup = str(env, 'GRAMINSTA_RESTORE_BACKUP', 'latest');
  if (restoreBackup !== 'latest' && !/^\d{8}T\d{6}Z$/.test(restoreBackup)) throw new ConfigError(`GRAMINSTA_RESTORE_BACKUP must be latest or a backup name such as 20261202T031500Z, got ${JSON.stringify(restoreBackup)}`);
  return {
    prefix,
    dir: mode === 'backup' ? required(env, 'GRAMINSTA_BACKUP_DIR') : '',
    retention: count !== undefined ? { count } : days !== undefined ? { days } : null,
    restoreBackup,
    restorePgdata: mode === 'restore' ? required(env, 'GRAMINSTA_RESTORE_PGDATA') : '',
    restoreDir: mode === 'restore' ? required(env, 'GRAMINSTA_RESTORE_DIR') : '',
    terminationMessagePath: str(env, 'GRAMINSTA_TERMINATION_MESSAGE_PATH', '/dev/termination-log'),
  };
}

/**
 * GRAMINSTA_DB_SSLMODE and GRAMINSTA_DB_SSLROOTCERT_FILE: the CA file is checked readable at start (when the mode
 * connects) and read again at every new connection (db/tls.ts); it needs verify-ca or verify-full.
 */
function databaseTls(env: Env, needsDb: boolean, read: ReadSecretFile): DatabaseTls {
  const rootCertPath = str(env, `${PATH_FILE_VARIABLES[0]}_FILE`, '');
  // A CA to verify with means verifying, as libpq does with a root certificate file.
  const mode = oneOf(env, 'GRAMINSTA_DB_SSLMODE', rootCertPath ? 'verify-full' : 'disable', SSL_MODES);
  if (rootCertPath && mode !== 'verify-ca' && mode !== 'verify-full') {
    throw new ConfigError(`GRAMINSTA_DB_SSLROOTCERT_FILE is set but GRAMINSTA_DB_SSLMODE is ${mode}: the CA is used by verify-ca and verify-full only`);
  }
  if (rootCertPath && needsDb) {
    let pem: string;
    try {
      pem = read(rootCertPath);
    } catch (err) {
      throw new ConfigError(`GRAMINSTA_DB_SSLROOTCERT_FILE: cannot read ${rootCertPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`GRAMINSTA_DB_SSLROOTCERT_FILE: ${rootCertPath} holds no PEM certificate`);
  }
  return { mode, rootCertPath };
}

/** exporter mode: which server's statistics the sidecar exposes (GRAMINSTA_EXPORTER_TARGET, required). */
function exporterConfig(env: Env): NonNullable<Config['exporter']> {
  required(env, 'GRAMINSTA_EXPORTER_TARGET');
  return { target: oneOf(env, 'GRAMINSTA_EXPORTER_TARGET', 'postgres', ['postgres', 'redis'] as const) };
}

/**
 * Parses the environment for `mode` (argv wins over GRAMINSTA_MODE), reading the files that `<NAME>_FILE` variables
 * name; throws ConfigError naming the bad variable.
 */
export function loadConfig(rawEnv: Env = process.env, argvMode?: string, readSecretFile: ReadSecretFile = (path) => readFileSync(path, 'utf8')): Config {
  const env = withSecretFiles(rawEnv, readSecretFile);
  const modeRaw = argvMode ?? str(env, 'GRAMINSTA_MODE', 'api');
  const modes: Mode[] = ['api', 'web', 'migrate', 'origin', 'sync-images', 'exporter', 'backup', 'restore'];
  if (!modes.includes(modeRaw as Mode)) throw new ConfigError(`mode must be one of ${modes.join(', ')} (argv[2] or GRAMINSTA_MODE), got ${JSON.stringify(modeRaw)}`);
  const mode = modeRaw as Mode;
  const exporter = mode === 'exporter' ? exporterConfig(env) : null;
  const needsDb = mode === 'api' || mode === 'migrate' || mode === 'sync-images' || exporter?.target === 'postgres';
  const dbPort = int(env, 'GRAMINSTA_DB_PORT', 5432, 1, 65535);
  const storageKind = oneOf(env, 'GRAMINSTA_STORAGE', 'volume', ['s3', 'volume', 'origin'] as const);
  const redisMode = oneOf(env, 'GRAMINSTA_REDIS_MODE', 'none', ['none', 'standalone', 'cluster'] as const);
  const cfg: Config = {
    mode,
    port: int(env, 'PORT', 8080, 0, 65535),
    metricsPort: int(env, 'GRAMINSTA_METRICS_PORT', 9090, 0, 65535),
    exporter,
    db: {
      host: needsDb ? required(env, 'GRAMINSTA_DB_HOST') : str(env, 'GRAMINSTA_DB_HOST', ''),
      port: dbPort,
      name: str(env, 'GRAMINSTA_DB_NAME', 'graminsta'),
      user: str(env, 'GRAMINSTA_DB_USER', 'graminsta'),
      password: needsDb ? required(env, 'GRAMINSTA_DB_PASSWORD') : str(env, 'GRAMINSTA_DB_PASSWORD', ''),
      tls: databaseTls(env, needsDb, readSecretFile),
      replicas: hostList(env, 'GRAMINSTA_DB_REPLICA_HOSTS', dbPort),
      poolSize: int(env, 'GRAMINSTA_DB_POOL_SIZE', 10, 1, 1000),
      retrySeconds: int(env, 'GRAMINSTA_DB_RETRY_SECONDS', 20, 0, 600),
      queryTimeoutMs: int(env, 'GRAMINSTA_DB_QUERY_TIMEOUT_SECONDS', 10, 1, 3600) * 1000,
    },
    redis: { mode: redisMode, nodes: hostList(env, 'GRAMINSTA_REDIS_NODES', 6379), password: str(env, 'GRAMINSTA_REDIS_PASSWORD', '') },
    cacheTtlSeconds: int(env, 'GRAMINSTA_CACHE_TTL_SECONDS', 30, 1, 86400),
    nearCache: { maxAgeMs: int(env, 'GRAMINSTA_NEAR_CACHE_MS', 30000, 0, 60000), maxEntries: int(env, 'GRAMINSTA_NEAR_CACHE_ENTRIES', 20000, 1, 10000000) },
    storage: withFileCredentials(storageConfig(env, 'GRAMINSTA_', storageKind), rawEnv, env),
    syncFrom: mode === 'sync-images' ? syncSource(env) : null,
    backup: mode === 'backup' || mode === 'restore' ? backupConfig(env, mode) : null,
    cdnBaseUrl: url(env, 'GRAMINSTA_CDN_BASE_URL'),
    publicApiUrl: url(env, 'GRAMINSTA_PUBLIC_API_URL'),
    tokenSecret: mode === 'api' ? required(env, 'GRAMINSTA_TOKEN_SECRET') : str(env, 'GRAMINSTA_TOKEN_SECRET', ''),
    maxUploadBytes: int(env, 'GRAMINSTA_MAX_UPLOAD_BYTES', DEFAULT_MAX_UPLOAD_BYTES, 1, 1024 * 1024 * 1024),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['debug', 'info', 'warn', 'error'] as const),
    webRoot: str(env, 'GRAMINSTA_WEB_ROOT', ''),
    shutdownDelaySeconds: int(env, 'GRAMINSTA_SHUTDOWN_DELAY_SECONDS', 5, 0, 300),
    maxConnectionAgeSeconds: int(env, 'GRAMINSTA_MAX_CONNECTION_AGE_SECONDS', 10, 0, 3600),
    hygiene: hygieneConfig(env),
    http: {
      headersTimeoutMs: int(env, 'GRAMINSTA_HTTP_HEADERS_TIMEOUT_SECONDS', 10, 1, 600) * 1000,
      requestTimeoutMs: int(env, 'GRAMINSTA_HTTP_REQUEST_TIMEOUT_SECONDS', 60, 1, 3600) * 1000,
      keepAliveTimeoutMs: int(env, 'GRAMINSTA_HTTP_KEEPALIVE_TIMEOUT_SECONDS', 65, 1, 3600) * 1000,
    },
    trustProxyHops: int(env, 'GRAMINSTA_TRUST_PROXY', 0, 0, 10),
    rateLimits: { enabled: bool(env, 'GRAMINSTA_RATE_LIMITS_ENABLED', false), login: rateLimitRule(env, 'login'), signup: rateLimitRule(env, 'signup'), uploads: rateLimitRule(env, 'uploads') },
  };
  if (cfg.metricsPort !== 0 && cfg.metricsPort === cfg.port) throw new ConfigError(`GRAMINSTA_METRICS_PORT must differ from PORT (${cfg.port}): /metrics is not served on the public port`);
  if (exporter?.target === 'redis' && cfg.redis.nodes.length !== 1) throw new ConfigError('GRAMINSTA_REDIS_NODES must name the one Redis server the exporter reads (host:port) in exporter mode with GRAMINSTA_EXPORTER_TARGET=redis');
  if (cfg.http.headersTimeoutMs > cfg.http.requestTimeoutMs) throw new ConfigError('GRAMINSTA_HTTP_HEADERS_TIMEOUT_SECONDS must not exceed GRAMINSTA_HTTP_REQUEST_TIMEOUT_SECONDS');
  if (mode === 'api' && cfg.tokenSecret.length < 16) throw new ConfigError('GRAMINSTA_TOKEN_SECRET must be at least 16 characters');
  if (redisMode !== 'none' && cfg.redis.nodes.length === 0) throw new ConfigError(`GRAMINSTA_REDIS_NODES is required when GRAMINSTA_REDIS_MODE is ${redisMode}`);
  if (mode === 'api' || mode === 'sync-images') checkStorage(cfg.storage, 'GRAMINSTA_', true);
  if (cfg.syncFrom) {
    checkStorage(cfg.syncFrom, 'GRAMINSTA_SYNC_FROM_', false);
    if (sameStore(cfg.syncFrom, cfg.storage)) throw new ConfigError(`GRAMINSTA_SYNC_FROM_* names the same store as GRAMINSTA_* (${describeStore(cfg.storage)}); sync-images needs a different source`);
  }
  if ((mode === 'backup' || mode === 'restore') && cfg.storage.kind !== 's3') throw new ConfigError(`GRAMINSTA_STORAGE must be s3 in ${mode} mode (the bucket of the backups), got ${cfg.storage.kind}`);
  if ((mode === 'backup' || mode === 'restore') && cfg.storage.kind === 's3') {
    checkStorage(cfg.storage, 'GRAMINSTA_', false);
    // Explicit, so that the settings parsed here are the ones used (the SDK's chain would read the process environment again).
    if (!cfg.storage.s3.credentials && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
      cfg.storage.s3.credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
    }
  }
  if (mode === 'origin' && !cfg.storage.originToken) throw new ConfigError('GRAMINSTA_ORIGIN_TOKEN is required in origin mode');
  return cfg;
}
