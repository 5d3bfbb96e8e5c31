// The operator's settings: the only place that reads process.env. A bad value stops the process at
// start with a message naming the variable.
import { hostname } from 'node:os';
import { checkImageSettings, DEFAULT_IMAGES, type ImageSettings } from './api/images.api.js';
import type { LogLevel } from './kube/logger.kube.js';

export { DEFAULT_SERVICE_IMAGE, OPERATOR_VERSION } from './api/images.api.js';

/** The environment variables of the image settings, by setting. */
export const IMAGE_ENV = {
  service: 'GRAMINSTA_SERVICE_IMAGE',
  postgres: 'GRAMINSTA_POSTGRES_IMAGE',
  redis: 'GRAMINSTA_REDIS_IMAGE',
} as const satisfies Record<keyof ImageSettings, string>;

/**
 * Node.js flags the operator runs with (Dockerfile.operator, hack/run.sh, the bench). Caches hold
 * thousands of objects while reconciles make short-lived garbage: a small young generation keeps the
 * resident set near the live heap (500 apps: about 150 MiB instead of 209 MiB), and V8's memory saver
 * mode collects the old generation before it grows far past what is live (docs/benchmarks.md).
 */
export const OPERATOR_NODE_FLAGS = ['--max-semi-space-size=2', '--memory-saver-mode'] as const;

/** Everything the operator process is configured with. */
export interface OperatorConfig {
  /** Namespace to watch; empty watches all namespaces. */
  watchNamespace: string;
  /** Namespace of the leader-election Lease (the operator's own). */
  leaseNamespace: string;
  leaseName: string;
  leaderElect: boolean;
  /** This process's identity in the Lease. */
  identity: string;
  workers: number;
  httpPort: number;
  httpHost: string;
  /** Images of apps whose spec names none. */
  images: ImageSettings;
  logLevel: LogLevel;
  resyncMs: number;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** An API request without an answer after this long is aborted. */
  requestTimeoutMs: number;
  /** A reconcile's deadline (its requests are aborted); /healthz fails when one still runs at twice that (the abort did not free it). */
  reconcileTimeoutMs: number;
  /** How often the optional APIs not served yet (Prometheus Operator, Gateway API) are looked for again; 0: only at start. */
  discoveryIntervalMs: number;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name}: must be an integer from ${min} to ${max} (got "${raw}")`);
  }
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new Error(`${name}: must be true or false (got "${raw}")`);
}

/**
 * The image settings from the environment (empty variables mean the defaults), each checked; `overrides` (the
 * render CLI's flags, named by flag) win over the environment.
 */
export function loadImageSettings(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof ImageSettings, { value: string | undefined; flag: string }>> = {},
): ImageSettings {
  const keys = Object.keys(IMAGE_ENV) as (keyof ImageSettings)[];
  const images = {} as ImageSettings;
  const names = {} as Record<keyof ImageSettings, string>;
  for (const key of keys) {
    const flag = overrides[key];
    if (flag?.value) {
      images[key] = flag.value;
      names[key] = flag.flag;
    } else {
      images[key] = env[IMAGE_ENV[key]] || DEFAULT_IMAGES[key];
      names[key] = IMAGE_ENV[key];
    }
  }
  return checkImageSettings(images, names);
}

/** Reads the operator's configuration from the environment. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const logLevel = (env.LOG_LEVEL || 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new Error(`LOG_LEVEL: must be debug, info, warn or error (got "${logLevel}")`);
  const watchNamespace = env.WATCH_NAMESPACE ?? '';
  const leaseDurationMs = integer(env, 'GRAMINSTA_LEASE_DURATION_SECONDS', 15, 2, 3600) * 1000;
  const renewDeadlineMs = integer(env, 'GRAMINSTA_RENEW_DEADLINE_SECONDS', 10, 1, 3600) * 1000;
  const retryPeriodMs = integer(env, 'GRAMINSTA_RETRY_PERIOD_SECONDS', 2, 1, 3600) * 1000;
  if (!(renewDeadlineMs < leaseDurationMs && retryPeriodMs < renewDeadlineMs)) {
    throw new Error('GRAMINSTA_RETRY_PERIOD_SECONDS < GRAMINSTA_RENEW_DEADLINE_SECONDS < GRAMINSTA_LEASE_DURATION_SECONDS must hold');
  }
  return {
    watchNamespace,
    leaseNamespace: env.POD_NAMESPACE || watchNamespace || 'default',
    leaseName: env.GRAMINSTA_LEASE_NAME || 'graminsta-operator-leader',
    leaderElect: bool(env, 'GRAMINSTA_LEADER_ELECT', true),
    identity: env.POD_NAME || `${hostname()}-${process.pid}`,
    workers: integer(env, 'GRAMINSTA_WORKERS', 4, 1, 64),
    httpPort: integer(env, 'GRAMINSTA_HTTP_PORT', 8080, 0, 65535),
    httpHost: env.GRAMINSTA_HTTP_HOST || '0.0.0.0',
    images: loadImageSettings(env),
    logLevel,
    resyncMs: integer(env, 'GRAMINSTA_RESYNC_SECONDS', 600, 10, 86400) * 1000,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    requestTimeoutMs: integer(env, 'GRAMINSTA_REQUEST_TIMEOUT_SECONDS', 30, 1, 3600) * 1000,
    reconcileTimeoutMs: integer(env, 'GRAMINSTA_RECONCILE_TIMEOUT_SECONDS', 120, 1, 3600) * 1000,
    discoveryIntervalMs: integer(env, 'GRAMINSTA_DISCOVERY_INTERVAL_SECONDS', 60, 0, 86400) * 1000,
  };
}
