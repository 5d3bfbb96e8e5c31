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
 * Env entries read from a Secret that stay env entries: an external database's settings other than its password,
 * which are not secret. Every other entry from a Secret becomes a file; its consumer (the service's config,
 * FILE_VARIABLES there, or a data-tier script, secret_value in scripts/lib.sh) reads `<NAME>_FILE`.
 */
export const SETTINGS_FROM_SECRETS: ReadonlySet<string> = new Set([
  'GRAMINSTA_DB_HOST',
  'GRAMINSTA_DB_PORT',
  'GRAMINSTA_DB_NAME',
  'GRAMINSTA_DB_USER',
  'GRAMINSTA_DB_SSLMODE',
  'GRAMINSTA_DB_REPLICA_HOSTS',
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
 * The containers with every env entry read from a Secret (but SETTINGS_FROM_SECRETS) turned into `<NAME>_FILE` and a read-only mount of that
 * Secret, and the Secret volumes they mount (each with only the keys the pod reads).
 */
export function secretsAsFiles(containers: V1Container[]): { containers: V1Container[]; volumes: V1Volume[] } {
  const keys = new Map<string, Set<string>>();
  const converted = containers.map((container) => {
    const mounts = new Map<string, V1VolumeMount>();
    const env = (container.env ?? []).map((entry): V1EnvVar => {
      const ref = entry.valueFrom?.secretKeyRef;
      if (!ref || SETTINGS_FROM_SECRETS.has(entry.name)) return entry;
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
