// Secrets as files: env entries that would carry a password or key from a Secret become `<NAME>_FILE` pointing at
// the key mounted from a Secret volume, so the values never sit in a process environment (/proc/<pid>/environ,
// crash dumps, `kubectl describe` of the pod's env sources stays the same).
import type { V1Container, V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { hashOf } from './hash.render.js';

/** Where Secrets are mounted: one directory per Secret, one file per key. */
export const SECRETS_DIR = '/etc/graminsta/secrets';

/**
 * Mode of the mounted keys: readable by the owner (root) and the group, which the kubelet sets to the pod's fsGroup,
 * the containers' own GID (security.render.ts); nobody else.
 */
export const SECRET_FILE_MODE = 0o440;

/**
 * The variables whose consumers also read `<NAME>_FILE`: the service's config (service/config.ts FILE_VARIABLES) and
 * the data-tier scripts (secret_env in scripts/lib.sh). Non-secret settings of an external database's Secret (host,
 * port, user, ...) stay env entries.
 */
export const FILE_ENV: ReadonlySet<string> = new Set([
  'GRAMINSTA_DB_PASSWORD',
  'GRAMINSTA_REDIS_PASSWORD',
  'GRAMINSTA_TOKEN_SECRET',
  'GRAMINSTA_ORIGIN_TOKEN',
  'GRAMINSTA_SYNC_FROM_ORIGIN_TOKEN',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'GRAMINSTA_SYNC_FROM_AWS_ACCESS_KEY_ID',
  'GRAMINSTA_SYNC_FROM_AWS_SECRET_ACCESS_KEY',
  'POSTGRES_APP_PASSWORD',
  'POSTGRES_REPLICATION_PASSWORD',
  'REDIS_PASSWORD',
]);

/** Path of a Secret's key as mounted in the containers. */
export function secretFilePath(secret: string, key: string): string {
  return `${SECRETS_DIR}/${secret}/${key}`;
}

function volumeName(secret: string): string {
  // Secret names may be DNS subdomains of 253 characters; volume names are labels of at most 63.
  return `secret-${hashOf(secret).slice(0, 12)}`;
}

/**
 * The containers with every FILE_ENV entry read from a Secret turned into `<NAME>_FILE` and a read-only mount of that
 * Secret, and the Secret volumes they mount (each with only the keys the pod reads).
 */
export function secretsAsFiles(containers: V1Container[]): { containers: V1Container[]; volumes: V1Volume[] } {
  const keys = new Map<string, Set<string>>();
  const converted = containers.map((container) => {
    const mounts = new Map<string, V1VolumeMount>();
    const env = (container.env ?? []).map((entry): V1EnvVar => {
      const ref = entry.valueFrom?.secretKeyRef;
      if (!ref || !FILE_ENV.has(entry.name)) return entry;
      const secret = ref.name;
      if (!secret) throw new Error(`env ${entry.name} of container ${container.name}: the Secret reference has no name`);
      if (ref.optional) throw new Error(`env ${entry.name} of container ${container.name}: an optional Secret key cannot be mounted as a file`);
      keys.set(secret, (keys.get(secret) ?? new Set()).add(ref.key));
      mounts.set(secret, { name: volumeName(secret), mountPath: `${SECRETS_DIR}/${secret}`, readOnly: true });
      return { name: `${entry.name}_FILE`, value: secretFilePath(secret, ref.key) };
    });
    if (mounts.size === 0) return container;
    return { ...container, env, volumeMounts: [...(container.volumeMounts ?? []), ...mounts.values()] };
  });
  const volumes = [...keys.entries()].map(([secret, set]): V1Volume => ({
    name: volumeName(secret),
    secret: { secretName: secret, defaultMode: SECRET_FILE_MODE, items: [...set].sort().map((key) => ({ key, path: key })) },
  }));
  return { containers: converted, volumes };
}
