// Pure decisions that keep StatefulSet rollouts moving. A StatefulSet never replaces a pod that is not
// Running and Ready, so a pod stuck on a broken template (a wrong image, a crash loop) keeps the whole
// set on that template after the spec is fixed (kubernetes/kubernetes#67250). The operator deletes
// such a pod once the StatefulSet has a newer revision, and the controller recreates it from the fix.
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { podIssues } from './status.reconcile.js';

/** The pods of `sets` to delete: on an older revision than their StatefulSet's update revision, and stuck. */
export function stuckPodsToReplace(sets: readonly V1StatefulSet[], pods: readonly V1Pod[]): V1Pod[] {
  const out: V1Pod[] = [];
  for (const sts of sets) {
    const update = sts.status?.updateRevision;
    if (!update || (sts.status?.observedGeneration ?? 0) < (sts.metadata?.generation ?? 0)) continue;
    for (const pod of pods) {
      if (pod.metadata?.deletionTimestamp || pod.metadata?.namespace !== sts.metadata?.namespace) continue;
      const owned = pod.metadata?.ownerReferences?.some((r) => r.controller && r.kind === 'StatefulSet' && r.uid === sts.metadata?.uid);
      if (!owned) continue;
      if (pod.metadata?.labels?.['controller-revision-hash'] === update) continue;
      if (podIssues([pod]).length > 0) out.push(pod);
    }
  }
  return out;
}
