// ConfigMaps of the photo service (non-secret settings, per mode) and the env entries that read Secrets.
import type { V1ConfigMap, V1EnvVar, V1Secret } from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import type { RenderContext } from './context.render.js';
import { endpointsOf } from './endpoints.render.js';
import { hashOf } from './hash.render.js';
import { objectMeta, serviceHost, type Component } from './names.render.js';
import { planOf, type Plan } from './plan.render.js';
import { DB_SECRET_KEYS, ORIGIN_SECRET_KEY, REDIS_SECRET_KEY, TOKEN_SECRET_KEY } from './secrets.render.js';

/** Port every mode of the photo service listens on. */
export const SERVICE_PORT = 8080;
/** Postgres port. */
export const POSTGRES_PORT = 5432;
/** Redis port. */
export const REDIS_PORT = 6379;
/** Directory of images for volume storage and origin mode. */
export const IMAGES_PATH = '/data/images';
/** Directory of images in the single-machine pod: a directory of its database volume, mounted at /data. */
export const LOCAL_IMAGES_PATH = '/data/images';
/** Database name and user of the in-cluster Postgres. */
export const DB_NAME = 'graminsta';
/** The application role of the in-cluster Postgres. */
export const DB_USER = 'graminsta';

/** Keys of the user's external database Secret (as documented on spec.database.external.secretName). */
export const EXTERNAL_DB_KEYS = {
  host: 'host',
  port: 'port',
  database: 'database',
  user: 'user',
  password: 'password',
  sslmode: 'sslmode',
  replicaHosts: 'replicaHosts',
} as const;

function secretEnv(name: string, secret: string, key: string, optional = false): V1EnvVar {
  return {
    name,
    valueFrom: { secretKeyRef: optional ? { name: secret, key, optional } : { name: secret, key } },
  };
}

/** Non-secret settings of the database connection (empty with an external database: they come from its Secret). */
export function databaseConfig(app: GraminstaApp, plan: Plan): Record<string, string> {
  const db = plan.database;
  if (db.mode === 'external') return {};
  const host = db.mode === 'embedded' ? '127.0.0.1' : serviceHost(app, plan.names.databaseRw);
  const replicas =
    db.mode === 'in-cluster' && db.readReplicas > 0
      ? `${serviceHost(app, plan.names.databaseRo)}:${POSTGRES_PORT}`
      : '';
  return {
    GRAMINSTA_DB_HOST: host,
    GRAMINSTA_DB_PORT: String(POSTGRES_PORT),
    GRAMINSTA_DB_NAME: DB_NAME,
    GRAMINSTA_DB_USER: DB_USER,
    GRAMINSTA_DB_SSLMODE: 'disable',
    GRAMINSTA_DB_REPLICA_HOSTS: replicas,
  };
}

/** Redis seed nodes: the standalone Service, or every cluster node's stable DNS name. */
export function redisNodes(app: GraminstaApp, plan: Plan): string {
  const cache = plan.cache;
  if (!cache) return '';
  if (cache.mode === 'standalone') return `${serviceHost(app, plan.names.redis)}:${REDIS_PORT}`;
  const count = cache.shards * (1 + cache.replicasPerShard);
  return Array.from(
    { length: count },
    (_, i) => `${plan.names.redis}-${i}.${serviceHost(app, plan.names.redisHeadless)}:${REDIS_PORT}`,
  ).join(',');
}

function storageConfig(app: GraminstaApp, plan: Plan): Record<string, string> {
  const storage = plan.storage;
  switch (storage.kind) {
    case 'local':
      return { GRAMINSTA_STORAGE: 'volume', GRAMINSTA_VOLUME_PATH: LOCAL_IMAGES_PATH };
    case 'origin':
      return {
        GRAMINSTA_STORAGE: 'origin',
        GRAMINSTA_ORIGIN_URL: `http://${serviceHost(app, plan.names.origin)}`,
      };
    case 's3': {
      const endpoint = storage.s3.endpoint ?? '';
      return {
        GRAMINSTA_STORAGE: 's3',
        GRAMINSTA_S3_BUCKET: storage.s3.bucket,
        GRAMINSTA_S3_REGION: storage.s3.region ?? 'us-east-1',
        GRAMINSTA_S3_ENDPOINT: endpoint,
        GRAMINSTA_S3_FORCE_PATH_STYLE: endpoint ? 'true' : 'false',
      };
    }
  }
}

/** Non-secret settings of the API (and of the API container of the single-machine pod). */
export function apiConfigData(app: GraminstaApp, plan: Plan): Record<string, string> {
  const endpoints = endpointsOf(app, plan);
  return {
    PORT: String(SERVICE_PORT),
    LOG_LEVEL: 'info',
    ...databaseConfig(app, plan),
    GRAMINSTA_REDIS_MODE: plan.cache ? plan.cache.mode : 'none',
    GRAMINSTA_REDIS_NODES: redisNodes(app, plan),
    GRAMINSTA_CACHE_TTL_SECONDS: String(plan.cache?.ttlSeconds ?? 30),
    ...storageConfig(app, plan),
    GRAMINSTA_CDN_BASE_URL: plan.cdnBaseURL,
    GRAMINSTA_PUBLIC_API_URL: endpoints.api,
  };
}

/** Env entries of the database connection that come from Secrets (password; everything with an external database). */
export function databaseSecretEnv(plan: Plan): V1EnvVar[] {
  const db = plan.database;
  if (db.mode !== 'external') {
    return [secretEnv('GRAMINSTA_DB_PASSWORD', plan.names.databaseSecret, DB_SECRET_KEYS.password)];
  }
  const s = db.secretName;
  return [
    secretEnv('GRAMINSTA_DB_HOST', s, EXTERNAL_DB_KEYS.host),
    secretEnv('GRAMINSTA_DB_PORT', s, EXTERNAL_DB_KEYS.port, true),
    secretEnv('GRAMINSTA_DB_NAME', s, EXTERNAL_DB_KEYS.database, true),
    secretEnv('GRAMINSTA_DB_USER', s, EXTERNAL_DB_KEYS.user, true),
    secretEnv('GRAMINSTA_DB_PASSWORD', s, EXTERNAL_DB_KEYS.password),
    secretEnv('GRAMINSTA_DB_SSLMODE', s, EXTERNAL_DB_KEYS.sslmode, true),
  ];
}

/** Env entries of the API that come from Secrets. */
export function apiSecretEnv(plan: Plan): V1EnvVar[] {
  const env = [...databaseSecretEnv(plan)];
  if (plan.database.mode === 'external') {
    env.push(
      secretEnv('GRAMINSTA_DB_REPLICA_HOSTS', plan.database.secretName, EXTERNAL_DB_KEYS.replicaHosts, true),
    );
  }
  if (plan.cache) env.push(secretEnv('GRAMINSTA_REDIS_PASSWORD', plan.names.redisSecret, REDIS_SECRET_KEY));
  if (plan.storage.kind === 'origin') {
    env.push(secretEnv('GRAMINSTA_ORIGIN_TOKEN', plan.names.originSecret, ORIGIN_SECRET_KEY));
  }
  if (plan.storage.kind === 's3' && plan.storage.s3.credentialsSecret) {
    const s = plan.storage.s3.credentialsSecret;
    env.push(
      secretEnv('AWS_ACCESS_KEY_ID', s, 'AWS_ACCESS_KEY_ID'),
      secretEnv('AWS_SECRET_ACCESS_KEY', s, 'AWS_SECRET_ACCESS_KEY'),
    );
  }
  env.push(secretEnv('GRAMINSTA_TOKEN_SECRET', plan.names.tokenSecret, TOKEN_SECRET_KEY));
  return env;
}

function configMap(
  app: GraminstaApp,
  name: string,
  component: Component,
  data: Record<string, string>,
): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: objectMeta(app, name, component), data };
}

/** The API's settings; always present. */
export function renderApiConfigMap(app: GraminstaApp): V1ConfigMap {
  const plan = planOf(app);
  return configMap(app, plan.names.apiConfig, 'api', apiConfigData(app, plan));
}

/** The web client's settings; null without a web tier. */
export function renderWebConfigMap(app: GraminstaApp): V1ConfigMap | null {
  const plan = planOf(app);
  if (!plan.web) return null;
  return configMap(app, plan.names.webConfig, 'web', {
    PORT: String(SERVICE_PORT),
    LOG_LEVEL: 'info',
    GRAMINSTA_CDN_BASE_URL: plan.cdnBaseURL,
    GRAMINSTA_PUBLIC_API_URL: endpointsOf(app, plan).api,
  });
}

/** The origin's settings; null without an in-cluster origin. */
export function renderOriginConfigMap(app: GraminstaApp): V1ConfigMap | null {
  const plan = planOf(app);
  if (plan.storage.kind !== 'origin') return null;
  return configMap(app, plan.names.originConfig, 'origin', {
    PORT: String(SERVICE_PORT),
    LOG_LEVEL: 'info',
    GRAMINSTA_STORAGE: 'volume',
    GRAMINSTA_VOLUME_PATH: IMAGES_PATH,
  });
}

/** Names of the Secrets a pod's env refers to, in order of first use. */
export function referencedSecrets(env: V1EnvVar[]): string[] {
  const names = env.map((e) => e.valueFrom?.secretKeyRef?.name).filter((n): n is string => !!n);
  return [...new Set(names)];
}

/**
 * Hash of the configuration a pod reads: the data of its ConfigMaps, and of the Secrets it refers to as far as
 * render knows them (generated ones, and the user's when the caller passed them in existingSecrets).
 */
export function configHash(
  configMaps: (V1ConfigMap | null)[],
  secretNames: string[],
  generated: V1Secret[],
  ctx: RenderContext,
): string {
  const secrets: Record<string, unknown> = {};
  for (const name of [...secretNames].sort()) {
    const own = generated.find((s) => s.metadata?.name === name);
    secrets[name] = own?.stringData ?? ctx.existingSecrets[name] ?? null;
  }
  const maps = configMaps.filter((c): c is V1ConfigMap => c !== null).map((c) => [c.metadata?.name, c.data]);
  return hashOf({ configMaps: maps, secrets });
}
