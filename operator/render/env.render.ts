// Environment of the containers: the service's settings (the env contract in docs/service-env.md) and the
// entries that read Secrets.
import type { V1EnvVar } from '@kubernetes/client-node';
import { DB_NAME, DB_TLS_KEYS, DB_USER, EXTERNAL_DB_KEYS, IMAGES_PATH, POSTGRES_PORT } from './constants.render.js';
import { serviceHost } from './names.render.js';
import { DB_SECRET_KEYS, ORIGIN_SECRET_KEY, REDIS_SECRET_KEY, TOKEN_SECRET_KEY, type Plan } from './plan.render.js';

/** An env entry read from a key of a Secret. */
export function secretEnv(name: string, secret: string, key: string, optional = false): V1EnvVar {
  return {
    name,
    valueFrom: { secretKeyRef: optional ? { name: secret, key, optional } : { name: secret, key } },
  };
}

/**
 * The sslmode of every connection to the in-cluster Postgres, loopback ones included: TLS, the server's certificate
 * checked against the app's CA and against the name (or loopback address) connected to.
 */
export const IN_CLUSTER_SSLMODE = 'verify-full';

/**
 * Env entry of a client of the in-cluster Postgres: the CA certificate it verifies the server with, as a file
 * (GRAMINSTA_DB_SSLROOTCERT_FILE; the service reads it at every new connection, so a renewed CA applies without a
 * restart). Not part of any config hash: a renewal must restart nothing. With an external database, the CA of
 * spec.database.external.sslRootCert, if any.
 */
export function databaseCaEnv(plan: Plan): V1EnvVar[] {
  const tls = plan.databaseTls;
  if (tls) return [secretEnv('GRAMINSTA_DB_SSLROOTCERT', tls.serverSecret, DB_TLS_KEYS.ca)];
  const ca = plan.database.placement === 'external' ? plan.database.sslRootCert : null;
  return ca ? [secretEnv('GRAMINSTA_DB_SSLROOTCERT', ca.secretName, ca.key)] : [];
}

/** Non-secret settings of the database connection (empty with an external database: they come from its Secret). */
export function databaseSettings(plan: Plan): Record<string, string> {
  const db = plan.database;
  if (db.placement === 'external') return {};
  const { names } = plan;
  const host = db.placement === 'embedded' ? '127.0.0.1' : serviceHost(names, names.databaseRw);
  const replicas = db.readReplicas > 0 ? `${serviceHost(names, names.databaseRo)}:${POSTGRES_PORT}` : '';
  return {
    GRAMINSTA_DB_HOST: host,
    GRAMINSTA_DB_PORT: String(POSTGRES_PORT),
    GRAMINSTA_DB_NAME: DB_NAME,
    GRAMINSTA_DB_USER: DB_USER,
    GRAMINSTA_DB_SSLMODE: IN_CLUSTER_SSLMODE,
    GRAMINSTA_DB_REPLICA_HOSTS: replicas,
  };
}

/** Settings of where the API stores images (GRAMINSTA_STORAGE and what that kind needs). */
export function storageSettings(plan: Plan): Record<string, string> {
  const storage = plan.storage;
  switch (storage.kind) {
    case 'volume':
      return { GRAMINSTA_STORAGE: 'volume', GRAMINSTA_VOLUME_PATH: IMAGES_PATH };
    case 'origin':
      return {
        GRAMINSTA_STORAGE: 'origin',
        GRAMINSTA_ORIGIN_URL: `http://${serviceHost(plan.names, plan.names.origin)}`,
      };
    case 's3': {
      const endpoint = storage.s3.endpoint ?? '';
      return {
        GRAMINSTA_STORAGE: 's3',
        GRAMINSTA_S3_BUCKET: storage.s3.bucket,
        GRAMINSTA_S3_REGION: storage.s3.region,
        GRAMINSTA_S3_ENDPOINT: endpoint,
        GRAMINSTA_S3_FORCE_PATH_STYLE: endpoint ? 'true' : 'false',
      };
    }
  }
}

/** Env entries of the database connection that come from Secrets (password; everything with an external database). */
export function databaseSecretEnv(plan: Plan): V1EnvVar[] {
  const db = plan.database;
  if (db.placement !== 'external') {
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

/** The origin token, shared by the API (which writes to the origin) and the origin. */
export function originTokenEnv(plan: Plan): V1EnvVar {
  return secretEnv('GRAMINSTA_ORIGIN_TOKEN', plan.names.originSecret, ORIGIN_SECRET_KEY);
}

/** The Redis password as env entry `name`. */
export function redisPasswordEnv(plan: Plan, name: string): V1EnvVar {
  return secretEnv(name, plan.names.redisSecret, REDIS_SECRET_KEY);
}

/** Env entries of the API that come from Secrets. */
export function apiSecretEnv(plan: Plan): V1EnvVar[] {
  const env = [...databaseSecretEnv(plan)];
  if (plan.database.placement === 'external') {
    env.push(
      secretEnv('GRAMINSTA_DB_REPLICA_HOSTS', plan.database.secretName, EXTERNAL_DB_KEYS.replicaHosts, true),
    );
  }
  if (plan.cache) env.push(redisPasswordEnv(plan, 'GRAMINSTA_REDIS_PASSWORD'));
  // In volume mode the token guards the writes that move photos into or out of the single-machine pod.
  if (plan.storage.kind !== 's3') env.push(originTokenEnv(plan));
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

/** Env of a migrate-mode container: the database settings as literals and the Secret refs, nothing else. */
export function migrateEnv(plan: Plan): V1EnvVar[] {
  const literals = Object.entries(databaseSettings(plan))
    .filter(([key]) => key !== 'GRAMINSTA_DB_REPLICA_HOSTS')
    .map(([name, value]) => ({ name, value }));
  return [...literals, ...databaseSecretEnv(plan), ...databaseCaEnv(plan), { name: 'LOG_LEVEL', value: 'info' }];
}

/** Names of the Secrets a pod's env refers to, in order of first use. */
export function referencedSecrets(env: V1EnvVar[]): string[] {
  const names = env.map((e) => e.valueFrom?.secretKeyRef?.name).filter((n): n is string => !!n);
  return [...new Set(names)];
}
