// Make before break: the pure decisions that let an app move between stages while people use it. New pods
// start and become ready first; then traffic switches to them; then, after the switch has had time to reach
// every proxy, the old pods lose their role and what is no longer desired is pruned.
import type { KubernetesObject, V1Deployment, V1Job, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { APPLY_AFTER_ANNOTATION, type ApplyAfter } from '../render/names.render.js';
import type { IngressObservation } from './ingress-status.reconcile.js';

/**
 * Why a change to an existing object waits for the new pods:
 * - `switch`: a Service would select other pods (traffic moves, e.g. the API leaving the single-machine pod);
 * - `retire`: a workload would lose a container that serves HTTP (the single-machine pod dropping its API).
 */
export type Hold = 'switch' | 'retire';

/** The hold of a change from `live` to `want`, or null when it may be applied at once. */
export function holdOf(want: KubernetesObject, live: KubernetesObject | undefined): Hold | null {
  if (!live) return null;
  if (want.kind === 'Service') {
    return sameSelector((want as V1Service).spec?.selector, (live as V1Service).spec?.selector) ? null : 'switch';
  }
  if (want.kind === 'StatefulSet' || want.kind === 'Deployment') {
    const after = servingContainers(want as V1StatefulSet);
    return [...servingContainers(live as V1StatefulSet)].some((name) => !after.has(name)) ? 'retire' : null;
  }
  return null;
}

function sameSelector(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const x = Object.entries(a ?? {}).sort(([k], [l]) => k.localeCompare(l));
  const y = Object.entries(b ?? {}).sort(([k], [l]) => k.localeCompare(l));
  return JSON.stringify(x) === JSON.stringify(y);
}

/** Names of the containers of a workload's pods that serve HTTP (a port named http). */
function servingContainers(w: V1StatefulSet | V1Deployment): Set<string> {
  const containers = w.spec?.template?.spec?.containers ?? [];
  return new Set(containers.filter((c) => c.ports?.some((p) => p.name === 'http')).map((c) => c.name));
}

/** The phase after which a desired object is applied (its graminsta.io/apply-after annotation); `start` when unset. */
export function applyAfter(obj: KubernetesObject): ApplyAfter | 'start' {
  const value = obj.metadata?.annotations?.[APPLY_AFTER_ANNOTATION];
  return value === 'ready' || value === 'switched' ? value : 'start';
}

/**
 * Why a desired object applied as `appliedHash` is not done yet, or undefined when it is: a workload whose
 * controller has rolled out exactly that template with its pods ready and no old pod left, a Job that
 * succeeded. Objects of other kinds are done once the cache holds the applied version.
 */
export function notDone(
  want: KubernetesObject,
  live: KubernetesObject | undefined,
  appliedHash: string,
  hashAnnotation: string,
  /** Pods that must be ready when an HPA scales the workload (its minimum), so a scale-up is not a rollout. */
  minReady?: number,
): string | undefined {
  const name = `${want.kind} ${want.metadata?.name}`;
  if (!live) return `${name} is not created yet`;
  if (live.metadata?.annotations?.[hashAnnotation] !== appliedHash) return `${name} has not been updated yet`;
  if (want.kind === 'Job') {
    const job = live as V1Job;
    if ((job.status?.succeeded ?? 0) > 0) return undefined;
    const failed = jobFailure(job);
    return failed ? `${name} failed (${failed.reason ?? 'Failed'})` : `${name} is running`;
  }
  if (want.kind !== 'Deployment' && want.kind !== 'StatefulSet') return undefined;
  const w = live as V1Deployment | V1StatefulSet;
  const s = w.status ?? {};
  if ((s.observedGeneration ?? 0) < (w.metadata?.generation ?? 0)) return `${name} has not observed its latest spec yet`;
  const replicas = minReady ?? w.spec?.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  if (updated < replicas) return `${updated}/${replicas} pods of ${name} run the latest template`;
  if ((s.readyReplicas ?? 0) < replicas) return `${s.readyReplicas ?? 0}/${replicas} pods of ${name} are ready`;
  if (want.kind === 'Deployment' && (s.replicas ?? 0) > updated) return `${(s.replicas ?? 0) - updated} old pod(s) of ${name} are still running`;
  return undefined;
}

/**
 * How long after a traffic switch the old pods keep their role: endpoints, kube-proxy and ingress upstreams follow
 * within seconds, and keep-alive connections pinned to an old pod are closed by the service once they are older than
 * GRAMINSTA_MAX_CONNECTION_AGE_SECONDS (10 s), so after this no new request reaches the old pods.
 */
export const SWITCH_SETTLE_MS = 15_000;

/** The Failed condition of a Job that has not succeeded, or undefined (running, succeeded, or not started). */
export function jobFailure(job: V1Job): { reason?: string; message?: string } | undefined {
  if ((job.status?.succeeded ?? 0) > 0) return undefined;
  return job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
}

/**
 * The desired Jobs that have succeeded, sorted: those whose live Job succeeded, and those `recorded` (the previous
 * status.completedJobs) says did, live or not, since Kubernetes deletes a finished Job after its
 * ttlSecondsAfterFinished. A Job no longer desired drops out: the same name desired again later runs again.
 */
export function completedJobsOf(desired: readonly KubernetesObject[], live: (name: string) => V1Job | undefined, recorded: ReadonlySet<string>): string[] {
  const names = desired.filter((o) => o.kind === 'Job').map((o) => o.metadata!.name!);
  return names.filter((name) => recorded.has(name) || (live(name)?.status?.succeeded ?? 0) > 0).sort();
}

/**
 * The front door an app leaves is kept while the one it moves to cannot take traffic yet (make before break for
 * spec.ingress.gatewayRef set or removed): the Ingress stays until every HTTPRoute replacing it is Accepted with
 * its refs resolved by the Gateway's controller (`ingressReady`, from ingress-status.reconcile.ts); the HTTPRoutes
 * stay until the Ingress replacing them is published (an address in its status, which most controllers write) or,
 * for controllers that write none, has existed for SWITCH_SETTLE_MS. Returns the kind to keep out of the prune and
 * why (and when to look again, where time decides), or null when the old door may go.
 */
export function frontDoorToKeep(
  to: IngressObservation,
  ingressReady: boolean,
  now: number,
): { kind: 'Ingress' | 'HTTPRoute'; waiting: string; requeueAfterMs?: number } | null {
  if (to.kind === 'HTTPRoute') {
    if (ingressReady) return null;
    return { kind: 'Ingress', waiting: `keeping the Ingress until the HTTPRoutes are accepted by Gateway ${to.parent.namespace}/${to.parent.name}` };
  }
  if (to.kind === 'Ingress') {
    const live = to.live;
    const published = (live?.status?.loadBalancer?.ingress ?? []).some((a) => a.ip || a.hostname);
    const stamp = live?.metadata?.creationTimestamp; // a Date from client-node, a string from a plain watch event
    const created = stamp ? new Date(stamp).getTime() : NaN;
    if (live && (published || (Number.isFinite(created) && now - created >= SWITCH_SETTLE_MS))) return null;
    const left = Number.isFinite(created) ? Math.max(1_000, SWITCH_SETTLE_MS - (now - created)) : SWITCH_SETTLE_MS;
    return { kind: 'HTTPRoute', waiting: `keeping the HTTPRoutes until Ingress ${to.name} is published or has existed ${SWITCH_SETTLE_MS / 1000} s`, requeueAfterMs: left };
  }
  return null;
}
