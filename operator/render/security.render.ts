// Security contexts that make every rendered pod pass the Pod Security "restricted" profile.
import type { V1PodSecurityContext, V1SecurityContext } from '@kubernetes/client-node';

/** UID and GID of the photo service image (the node user). */
export const SERVICE_UID = 1000;
/** UID and GID of the postgres user in the Debian-based postgres image. */
export const POSTGRES_UID = 999;
/** UID and GID of the redis user in the Debian-based redis image. */
export const REDIS_UID = 999;

/** Pod-level security context: non-root with a fixed UID/GID, volumes group-owned by it, RuntimeDefault seccomp. */
export function podSecurityContext(uid: number): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level security context: no privilege escalation, no capabilities, read-only root unless the image needs otherwise. */
export function containerSecurityContext(uid: number, readOnlyRootFilesystem = true): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
