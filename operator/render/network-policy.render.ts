// NetworkPolicies of the app's tiers: ingress allow-lists, one per component that receives connections. Egress is
// left open (DNS, S3, an external database), and pods that only make connections (the Jobs) get none.
import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyIngressRule, V1NetworkPolicyPeer, V1NetworkPolicySpec } from '@kubernetes/client-node';
import { POSTGRES_PORT, REDIS_PORT } from './constants.render.js';
import { componentsSelector, objectMeta, selectorLabels, type Component } from './names.render.js';
import { redisComponent, type Plan } from './plan.render.js';

/** An ingress rule as the API writes it: client-node's model names `from` `_from` (the kube layer converts on apply). */
export type IngressRule = Omit<V1NetworkPolicyIngressRule, '_from'> & { from?: V1NetworkPolicyPeer[] };

/** A NetworkPolicy in wire form, as renderApp returns every object. */
export type NetworkPolicy = Omit<V1NetworkPolicy, 'spec'> & { spec: Omit<V1NetworkPolicySpec, 'ingress'> & { ingress: IngressRule[] } };

/** Peers matching the app's own pods of these components (in the app namespace). */
function appPods(plan: Plan, components: Component[]): V1NetworkPolicyPeer[] {
  return components.map((c) => ({ podSelector: { matchLabels: selectorLabels(plan.names, c) } }));
}

/**
 * A rule allowing a container port from these peers; without peers, from any source. Postgres and Redis ports are
 * numbers: the single-machine pod's Postgres is a sidecar (an init container), whose named ports network plugins
 * may not resolve. `http` is named: only service-image containers have it.
 */
function allow(port: string | number, from?: V1NetworkPolicyPeer[]): IngressRule {
  const rule: IngressRule = { ports: [{ protocol: 'TCP', port }] };
  if (from) rule.from = from;
  return rule;
}

/**
 * Who reaches the HTTP port of the tiers users talk to: once the app has an Ingress, spec.networkPolicy.ingressFrom
 * (the ingress controller) plus `also` of the app's own callers; any source when ingressFrom is empty, and before
 * the app has an Ingress, since users then reach the Services directly.
 */
function userFacing(plan: Plan, also: Component[] = []): V1NetworkPolicyPeer[] | undefined {
  const ingressFrom = plan.networkPolicy?.ingressFrom ?? [];
  return plan.ingress && ingressFrom.length > 0 ? [...ingressFrom, ...appPods(plan, also)] : undefined;
}

/** A policy named `name` (labelled as `component`) admitting `ingress` to the pods of `component`, or of `podSelector`. */
function networkPolicy(plan: Plan, name: string, component: Component, ingress: IngressRule[], podSelector: V1LabelSelector = { matchLabels: selectorLabels(plan.names, component) }): NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(plan.names, name, component),
    spec: { podSelector, policyTypes: ['Ingress'], ingress },
  };
}

/** The API pods: HTTP from the ingress controller (spec.networkPolicy.ingressFrom, with an Ingress) or any source; null in the single pod. */
export function renderApiNetworkPolicy(plan: Plan): NetworkPolicy | null {
  if (!plan.networkPolicy || plan.database.placement === 'embedded') return null;
  return networkPolicy(plan, plan.names.api, 'api', [allow('http', userFacing(plan))]);
}

/** The web pods: HTTP from the ingress controller or any source; null without a web tier. */
export function renderWebNetworkPolicy(plan: Plan): NetworkPolicy | null {
  if (!plan.networkPolicy || !plan.web) return null;
  return networkPolicy(plan, plan.names.web, 'web', [allow('http', userFacing(plan))]);
}

/**
 * The primary's pod (also the single-machine pod): Postgres from the API, migrate (and sync-images) and replica pods,
 * and the backup CronJob's pods when the app has backups.
 * Its HTTP port exists only while the pod holds the API too: users reach it as they reach the API, and sync-images
 * Jobs read its photos. The rule stays at every stage (it matches no port of a Postgres-only pod), so the single
 * pod keeps answering while the app grows out of it. Null with an external database.
 */
export function renderDatabaseNetworkPolicy(plan: Plan): NetworkPolicy | null {
  if (!plan.networkPolicy || plan.database.placement === 'external') return null;
  return networkPolicy(plan, plan.names.database, 'database', [
    allow(POSTGRES_PORT, appPods(plan, ['api', 'migrate', 'database-replica', ...(plan.database.backup ? (['backup'] as const) : [])])),
    allow('http', userFacing(plan, ['migrate'])),
  ]);
}

/** The read replicas: Postgres from the API pods only; null without read replicas. */
export function renderDatabaseReplicaNetworkPolicy(plan: Plan): NetworkPolicy | null {
  if (!plan.networkPolicy || plan.database.placement !== 'in-cluster' || plan.database.readReplicas === 0) return null;
  return networkPolicy(plan, plan.names.databaseReplica, 'database-replica', [allow(POSTGRES_PORT, appPods(plan, ['api']))]);
}

/**
 * The Redis nodes: Redis from the API, the other nodes and the cluster-forming Job; the cluster bus between cluster
 * nodes only. One policy selects both modes' pods (component cache and cache-standalone): during a change of
 * spec.cache.shards between 1 and >= 3 the old mode's nodes keep serving and keep their allow-list (and a cluster
 * that is being left keeps its bus) until they are pruned.
 */
export function renderRedisNetworkPolicy(plan: Plan): NetworkPolicy | null {
  if (!plan.networkPolicy || !plan.cache) return null;
  const modes: Component[] = [redisComponent('cluster'), redisComponent('standalone')];
  // Both modes' nodes reach each other's client port: the copy of a mode change MIGRATEs from one to the other.
  const rules = [allow(REDIS_PORT, appPods(plan, ['api', ...modes, 'cache-init'])), allow(REDIS_PORT + 10000, appPods(plan, [redisComponent('cluster')]))];
  return networkPolicy(plan, plan.names.redis, redisComponent(plan.cache.mode), rules, componentsSelector(plan.names, modes));
}

/**
 * The origin: HTTP from the API (which serves and writes images through it) and sync-images Jobs. No Ingress routes
 * to it, so the ingress controller is not let in. Null unless images are stored in-cluster.
 */
export function renderOriginNetworkPolicy(plan: Plan): NetworkPolicy | null {
  if (!plan.networkPolicy || plan.storage.kind !== 'origin') return null;
  return networkPolicy(plan, plan.names.origin, 'origin', [allow('http', appPods(plan, ['api', 'migrate']))]);
}

/** Every NetworkPolicy of the app; none when spec.networkPolicy.enabled is false. */
export function renderNetworkPolicies(plan: Plan): (NetworkPolicy | null)[] {
  return [
    renderApiNetworkPolicy(plan),
    renderWebNetworkPolicy(plan),
    renderDatabaseNetworkPolicy(plan),
    renderDatabaseReplicaNetworkPolicy(plan),
    renderRedisNetworkPolicy(plan),
    renderOriginNetworkPolicy(plan),
  ];
}
