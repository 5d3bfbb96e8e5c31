import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { parseQuantity } from './compare.reconcile.js';

/**
 * A claim as its informer caches it: identity, the instance label (which app to enqueue) and the fields
 * growVolumes reads. Several thousand claims sit in the cache with many apps; the rest of each is never read.
 */
export function slimClaim(pvc: V1PersistentVolumeClaim): V1PersistentVolumeClaim {
  const { name, namespace, uid, resourceVersion, labels, deletionTimestamp } = pvc.metadata ?? {};
  const storage = pvc.spec?.resources?.requests?.storage;
  const capacity = pvc.status?.capacity?.storage;
  return {
    apiVersion: pvc.apiVersion,
    kind: pvc.kind,
    metadata: { name, namespace, uid, resourceVersion, labels, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
    spec: {
      ...(pvc.spec?.storageClassName !== undefined ? { storageClassName: pvc.spec.storageClassName } : {}),
      ...(storage !== undefined ? { resources: { requests: { storage } } } : {}),
    },
    status: {
      ...(capacity !== undefined ? { capacity: { storage: capacity } } : {}),
      ...(pvc.status?.conditions ? { conditions: pvc.status.conditions.map(({ type, status }) => ({ type, status })) } : {}),
    },
  };
}

/** The parts of a live PersistentVolumeClaim the volume decision reads. */
export interface ClaimView {
  name: string;
  storageClassName?: string;
  /** spec.resources.requests.storage */
  requested?: string;
  /** status.capacity.storage */
  capacity?: string;
  /** status.conditions[].type, e.g. Resizing, FileSystemResizePending */
  conditions?: string[];
}

/** A volume that is not at its desired size, for the condition of the tier its StatefulSet serves. */
export interface VolumeNote {
  tier: 'ApiReady' | 'DatabaseReady' | 'CacheReady';
  reason: 'VolumeResizing' | 'VolumeExpansionNotAllowed' | 'VolumeCannotShrink';
  message: string;
}

/** What to do with one existing claim whose StatefulSet template wants `desired`. */
export type VolumeDecision =
  | { action: 'none' }
  | { action: 'expand'; to: string }
  | { action: 'resizing'; message: string }
  | { action: 'report'; reason: 'VolumeExpansionNotAllowed' | 'VolumeCannotShrink'; message: string };

/**
 * Decides, without side effects, how an existing claim follows the desired size. Never shrinks, never recreates:
 * a larger size is patched onto the claim only when its StorageClass allows expansion (allowExpansion undefined:
 * the class was not found, treated as not allowed); otherwise a reason the tier condition reports.
 */
export function decideVolume(desired: string, claim: ClaimView, allowExpansion: boolean | undefined): VolumeDecision {
  const want = parseQuantity(desired);
  const have = claim.requested === undefined ? undefined : parseQuantity(claim.requested);
  if (want === undefined) throw new Error(`volume size ${JSON.stringify(desired)} for PersistentVolumeClaim ${claim.name} is not a quantity`);
  if (have === undefined) return { action: 'none' };
  if (want > have) {
    if (allowExpansion === true) return { action: 'expand', to: desired };
    const cls = claim.storageClassName ?? '(none)';
    return {
      action: 'report',
      reason: 'VolumeExpansionNotAllowed',
      message: `PersistentVolumeClaim ${claim.name} stays at ${claim.requested}: StorageClass ${cls} does not allow volume expansion (wanted ${desired})`,
    };
  }
  if (want < have) {
    return {
      action: 'report',
      reason: 'VolumeCannotShrink',
      message: `PersistentVolumeClaim ${claim.name} stays at ${claim.requested}: a volume cannot shrink (wanted ${desired})`,
    };
  }
  const capacity = claim.capacity === undefined ? undefined : parseQuantity(claim.capacity);
  const pendingResize = (claim.conditions ?? []).some((c) => c === 'Resizing' || c === 'FileSystemResizePending');
  // A claim not yet bound has no capacity: that is not a resize in flight.
  if (pendingResize || (capacity !== undefined && capacity < have)) {
    return { action: 'resizing', message: `PersistentVolumeClaim ${claim.name} is resizing to ${claim.requested} (capacity ${claim.capacity ?? 'unknown'})` };
  }
  return { action: 'none' };
}
