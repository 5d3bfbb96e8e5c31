// The order of a Redis Cluster resize: a shrink moves the slots off the leaving nodes (the form Job) before the
// StatefulSet loses them; a grow adds the nodes first, and the form Job waits for them to answer.
import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import { AFTER_JOB_ANNOTATION } from '../render/names.render.js';

/**
 * The desired objects with the Redis StatefulSet held back until the form Job `job` succeeded, when the StatefulSet
 * would lose nodes (`live` runs more replicas than desired): the leaving nodes must still run while their slots
 * move and they are deleted from the cluster, whatever their ordinal. Unchanged otherwise.
 */
export function holdRedisShrink(desired: KubernetesObject[], statefulSet: string, job: string | null, live: V1StatefulSet | undefined): KubernetesObject[] {
  if (!job || !live) return desired;
  return desired.map((obj) => {
    if (obj.kind !== 'StatefulSet' || obj.metadata?.name !== statefulSet) return obj;
    const want = (obj as V1StatefulSet).spec?.replicas ?? 1;
    if ((live.spec?.replicas ?? 1) <= want) return obj;
    return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [AFTER_JOB_ANNOTATION]: job } } };
  });
}
