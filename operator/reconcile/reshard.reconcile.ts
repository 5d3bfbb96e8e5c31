// The order of a Redis Cluster resize: a shrink moves the slots off the leaving nodes (the form Job) before the
// StatefulSet loses them; a grow adds the nodes first, and the form Job waits for them to answer. A change of mode
// (standalone <-> cluster) copies the keys from the old mode's nodes, which keep serving, before the API switches.
import type { KubernetesObject, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { redisCopyJobName, renderRedisCopyJob } from '../render/cache.render.js';
import { AFTER_JOB_ANNOTATION } from '../render/names.render.js';
import { redisStatefulSetName, type CachePlan, type Plan } from '../render/plan.render.js';

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

/** The Redis mode a live StatefulSet's nodes run (their REDIS_MODE), or null when it is no Redis StatefulSet. */
export function liveRedisMode(live: V1StatefulSet | undefined): CachePlan['mode'] | null {
  const env = live?.spec?.template?.spec?.containers?.find((c) => c.name === 'redis')?.env;
  const mode = env?.find((e) => e.name === 'REDIS_MODE')?.value;
  return mode === 'standalone' || mode === 'cluster' ? mode : null;
}

/**
 * The mode the cache is leaving: the StatefulSet of the other mode still runs, with nodes of that mode. Null when there
 * is no change, or when the old nodes run the wanted mode under the other name (an app made before the standalone got
 * its own StatefulSet: nothing can copy standalone -> standalone, it starts empty once).
 */
export function redisModeLeft(plan: Plan, live: (name: string) => V1StatefulSet | undefined): CachePlan['mode'] | null {
  const cache = plan.cache;
  if (!cache) return null;
  const other = cache.mode === 'cluster' ? 'standalone' : 'cluster';
  const mode = liveRedisMode(live(redisStatefulSetName(plan.names, other)));
  return mode === other ? other : null;
}

/** Adds `job` to the after-job gate of an object (a comma-separated list: it may already wait for the migrate Job). */
function gateAfter(obj: KubernetesObject, job: string): KubernetesObject {
  const before = obj.metadata?.annotations?.[AFTER_JOB_ANNOTATION];
  const gate = before ? [...new Set([...before.split(','), job])].join(',') : job;
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [AFTER_JOB_ANNOTATION]: gate } } };
}

/** Whether a workload's pods read the ConfigMap `name` (envFrom or a key of it). */
function readsConfigMap(obj: KubernetesObject, name: string): boolean {
  if (obj.kind !== 'Deployment' && obj.kind !== 'StatefulSet') return false;
  const containers = (obj as V1Deployment).spec?.template?.spec?.containers ?? [];
  return containers.some(
    (c) => c.envFrom?.some((e) => e.configMapRef?.name === name) || c.env?.some((e) => e.valueFrom?.configMapKeyRef?.name === name),
  );
}

/**
 * Make before break for a change of spec.cache.shards between 1 and >= 3 while the old mode's StatefulSet (`left`,
 * redisModeLeft) still runs: the new mode's nodes start under their own StatefulSet; the copy Job (after the form Job
 * of a new cluster) copies every key with its TTL from the old nodes, which keep serving; only then do the API's
 * settings (its ConfigMap and the workloads reading it) switch to the new nodes. The old StatefulSet is no longer
 * desired and is pruned after everything else is done, that is after the API rolled out. Unchanged without a change.
 */
export function carryRedisMode(desired: KubernetesObject[], plan: Plan, left: CachePlan['mode'] | null): KubernetesObject[] {
  const copy = renderRedisCopyJob(plan, left);
  const name = redisCopyJobName(plan, left);
  if (!copy || !name) return desired;
  const form = desired.find((o) => o.kind === 'Job' && o.metadata?.name?.startsWith(plan.names.redisInitPrefix))?.metadata?.name;
  const apiConfig = plan.names.apiConfig;
  const gated = desired.map((obj) => {
    const api = (obj.kind === 'ConfigMap' && obj.metadata?.name === apiConfig) || readsConfigMap(obj, apiConfig);
    return api ? gateAfter(obj, name) : obj;
  });
  return [...gated, form ? gateAfter(copy, form) : copy];
}
