// The kinds of objects an app owns, the order they are applied in, and how the reconciler finds them.
import type { KubernetesObject } from '@kubernetes/client-node';

/** A kind the operator creates for an app; `group` is '' for the core API. */
export interface ChildKind {
  kind: string;
  apiVersion: string;
  group: string;
  plural: string;
  /** Lower applies first: configuration before the workloads that read it, workloads before what points at them. */
  order: number;
}

/**
 * Every kind an app can own. The operator watches each, filtered by its managed-by label. Volume claims
 * come from StatefulSet volumeClaimTemplates (the StatefulSet controller creates them, the operator only
 * watches and expands them: controller.ts) and pods use no ServiceAccount of their own, so neither is a child kind.
 */
export const childKinds: readonly ChildKind[] = [
  { kind: 'ConfigMap', apiVersion: 'v1', group: '', plural: 'configmaps', order: 0 },
  { kind: 'Secret', apiVersion: 'v1', group: '', plural: 'secrets', order: 0 },
  { kind: 'Service', apiVersion: 'v1', group: '', plural: 'services', order: 1 },
  // Before the workloads: a pod that a new tier's clients must reach is open to them by the time they start.
  { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', group: 'networking.k8s.io', plural: 'networkpolicies', order: 1 },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', group: 'apps', plural: 'statefulsets', order: 2 },
  { kind: 'Job', apiVersion: 'batch/v1', group: 'batch', plural: 'jobs', order: 3 },
  { kind: 'CronJob', apiVersion: 'batch/v1', group: 'batch', plural: 'cronjobs', order: 3 },
  { kind: 'Deployment', apiVersion: 'apps/v1', group: 'apps', plural: 'deployments', order: 4 },
  { kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v2', group: 'autoscaling', plural: 'horizontalpodautoscalers', order: 5 },
  { kind: 'PodDisruptionBudget', apiVersion: 'policy/v1', group: 'policy', plural: 'poddisruptionbudgets', order: 5 },
  { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', group: 'networking.k8s.io', plural: 'ingresses', order: 5 },
];

/**
 * The Prometheus Operator's kinds a monitored app owns (spec.monitoring). Watched, applied and pruned only where
 * the cluster serves them (optionalApis): the operator runs the same on clusters without those CRDs.
 */
export const monitoringKinds: readonly ChildKind[] = [
  { kind: 'PodMonitor', apiVersion: 'monitoring.coreos.com/v1', group: 'monitoring.coreos.com', plural: 'podmonitors', order: 5 },
  { kind: 'PrometheusRule', apiVersion: 'monitoring.coreos.com/v1', group: 'monitoring.coreos.com', plural: 'prometheusrules', order: 5 },
];

/** The Gateway API kinds an app with spec.ingress.gatewayRef owns, instead of its Ingress. */
export const gatewayKinds: readonly ChildKind[] = [
  { kind: 'HTTPRoute', apiVersion: 'gateway.networking.k8s.io/v1', group: 'gateway.networking.k8s.io', plural: 'httproutes', order: 5 },
];

/**
 * An API of optional kinds, from CRDs a cluster may not have: the operator discovers whether the cluster serves all
 * of them (at start and then periodically, so CRDs installed later are picked up) and only then watches, applies and
 * prunes them; apps that want them meanwhile get the rest, and the status says what is missing.
 */
export interface OptionalApi {
  name: 'monitoring' | 'gateway';
  group: string;
  version: string;
  kinds: readonly ChildKind[];
}

/** The name of an optional API (monitoring: the Prometheus Operator's; gateway: Gateway API). */
export type OptionalApiName = OptionalApi['name'];

/** Every optional API, in a stable order. */
export const optionalApis: readonly OptionalApi[] = [
  { name: 'monitoring', group: 'monitoring.coreos.com', version: 'v1', kinds: monitoringKinds },
  { name: 'gateway', group: 'gateway.networking.k8s.io', version: 'v1', kinds: gatewayKinds },
];

/** Every kind an app can own, the optional ones included (RBAC covers them all). */
export const allChildKinds: readonly ChildKind[] = [...childKinds, ...optionalApis.flatMap((a) => a.kinds)];

/** The kinds the operator watches on a cluster that serves the `served` optional APIs. */
export function watchedKinds(served: Iterable<OptionalApiName>): readonly ChildKind[] {
  const names = new Set(served);
  return [...childKinds, ...optionalApis.filter((a) => names.has(a.name)).flatMap((a) => a.kinds)];
}

/** The optional APIs whose kinds are all among `kinds` (what the watched kinds say the cluster serves). */
export function servedApisOf(kinds: readonly ChildKind[]): Set<OptionalApiName> {
  const have = new Set(kinds.map((k) => k.kind));
  return new Set(optionalApis.filter((a) => a.kinds.every((k) => have.has(k.kind))).map((a) => a.name));
}

const byKind = new Map(allChildKinds.map((k) => [k.kind, k]));

/** The ChildKind of an object; throws for a kind the operator does not manage. */
export function childKindOf(obj: KubernetesObject): ChildKind {
  const k = byKind.get(obj.kind ?? '');
  if (!k) throw new Error(`kind ${obj.kind} is not one the operator manages`);
  return k;
}

/** A stable identity of an object within the app: Kind/namespace/name. */
export function objectKey(obj: KubernetesObject): string {
  return `${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Groups desired objects into apply waves, lowest order first, each wave sorted by key. */
export function applyWaves(objects: KubernetesObject[]): KubernetesObject[][] {
  const waves = new Map<number, KubernetesObject[]>();
  for (const obj of objects) {
    const order = childKindOf(obj).order;
    waves.set(order, [...(waves.get(order) ?? []), obj]);
  }
  return [...waves.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, objs]) => objs.sort((x, y) => objectKey(x).localeCompare(objectKey(y))));
}

/** The namespace/name key of the GraminstaApp that controls obj, from its controller ownerReference. */
export function ownerKey(obj: KubernetesObject): string | undefined {
  const ref = obj.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'GraminstaApp' && r.apiVersion.startsWith('graminsta.io/'));
  if (!ref || !obj.metadata?.namespace) return undefined;
  return `${obj.metadata.namespace}/${ref.name}`;
}

/** True when obj is controlled by the app with this uid. */
export function isControlledBy(obj: KubernetesObject, uid: string | undefined): boolean {
  return !!uid && !!obj.metadata?.ownerReferences?.some((r) => r.controller && r.uid === uid);
}

/**
 * Why the app must not touch live, an object under a name the app wants, or undefined when the app
 * controls it. As controller-runtime's AlreadyOwnedError: an object the app did not create is never
 * adopted (an apply would add our controller reference, and prune or garbage collection would later delete it).
 */
export function notOursReason(live: KubernetesObject, appUid: string | undefined): string | undefined {
  if (isControlledBy(live, appUid)) return undefined;
  const controller = live.metadata?.ownerReferences?.find((r) => r.controller);
  const name = `${live.kind} ${live.metadata?.namespace}/${live.metadata?.name}`;
  return controller ? `${name} is controlled by ${controller.kind} ${controller.name}` : `${name} exists and was not created by this app`;
}

/** The message of the AlreadyOwned condition: the objects left untouched and what to do. */
export function alreadyOwnedMessage(reasons: string[]): string {
  return `${[...reasons].sort().join('; ')}: left untouched; delete or rename it, or choose another app name`;
}

/** The data of a Secret as read from the API (base64), decoded to strings; {} for none. */
export function decodeSecret(secret: KubernetesObject | undefined): Record<string, string> {
  const data = (secret as { data?: Record<string, string> } | undefined)?.data ?? {};
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}
