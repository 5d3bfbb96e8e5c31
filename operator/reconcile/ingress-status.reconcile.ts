// The IngressReady condition, pure: from the app's Ingress, or its HTTPRoutes and what the Gateway's controller wrote
// into their status.parents[] (Gateway API: Accepted and ResolvedRefs per parentRef).
import type { KubernetesObject, V1Ingress } from '@kubernetes/client-node';
import type { GatewayParentRef } from '../render/gateway.render.js';

/** A condition of an HTTPRoute's status.parents[] entry, as far as it is read. */
interface RouteCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

/** An HTTPRoute as observed: its generation and status.parents[]. */
export type ObservedRoute = KubernetesObject & {
  status?: {
    parents?: {
      parentRef: { group?: string; kind?: string; name: string; namespace?: string; sectionName?: string; port?: number };
      controllerName?: string;
      conditions?: RouteCondition[];
    }[];
  };
};

/** What the ingress tier is made of, as observed. */
export type IngressObservation =
  | { kind: 'none' }
  | { kind: 'Ingress'; name: string; live?: V1Ingress }
  | {
      kind: 'HTTPRoute';
      parent: GatewayParentRef;
      /** Whether the cluster serves HTTPRoutes (the Gateway API CRDs); false: nothing was rendered. */
      served: boolean;
      routes: { name: string; live?: ObservedRoute }[];
    };

/** The readiness of the ingress tier (the shape of status.reconcile.ts TierState). */
export interface IngressState {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** True when the status.parents[] entry's parentRef is ours (defaults filled in as the Gateway API defines them). */
function sameParent(ref: NonNullable<NonNullable<ObservedRoute['status']>['parents']>[number]['parentRef'], ours: GatewayParentRef, routeNamespace: string): boolean {
  return (
    (ref.group ?? 'gateway.networking.k8s.io') === ours.group &&
    (ref.kind ?? 'Gateway') === ours.kind &&
    ref.name === ours.name &&
    (ref.namespace ?? routeNamespace) === ours.namespace &&
    (ref.sectionName ?? '') === (ours.sectionName ?? '') &&
    ref.port === undefined
  );
}

function gatewayName(parent: GatewayParentRef): string {
  return `Gateway ${parent.namespace}/${parent.name}${parent.sectionName ? ` (listener ${parent.sectionName})` : ''}`;
}

/** Why one HTTPRoute is not ready, or undefined when its parent entry says Accepted=True and ResolvedRefs=True for its generation. */
function routeProblem(name: string, live: ObservedRoute | undefined, parent: GatewayParentRef): IngressState | undefined {
  const what = `HTTPRoute ${name}`;
  if (!live) return { status: 'False', reason: 'NotCreated', message: `waiting for ${what} to be created` };
  const entry = (live.status?.parents ?? []).find((p) => sameParent(p.parentRef, parent, live.metadata?.namespace ?? ''));
  if (!entry) {
    return { status: 'False', reason: 'WaitingForGateway', message: `${what}: the controller of ${gatewayName(parent)} has not reported on it yet (status.parents)` };
  }
  const generation = live.metadata?.generation ?? 0;
  for (const type of ['Accepted', 'ResolvedRefs']) {
    const c = entry.conditions?.find((x) => x.type === type);
    if (c?.status === 'True' && (c.observedGeneration ?? generation) >= generation) continue;
    if (!c || c.status !== 'False') {
      return { status: 'False', reason: 'WaitingForGateway', message: `${what}: ${type} is not reported for its latest spec by the controller of ${gatewayName(parent)}` };
    }
    const reason = c.reason || (type === 'Accepted' ? 'NotAccepted' : 'RefsNotResolved');
    return { status: 'False', reason, message: `${what}: ${type}=False (${reason}) from ${gatewayName(parent)}${c.message ? `: ${c.message}` : ''}` };
  }
  return undefined;
}

/** The IngressReady condition of an app. */
export function ingressState(o: IngressObservation, stage: string): IngressState {
  if (o.kind === 'none') return { status: 'True', reason: 'NotRequired', message: `no ingress tier at stage ${stage}` };
  if (o.kind === 'Ingress') {
    if (!o.live) return { status: 'False', reason: 'NotCreated', message: `waiting for Ingress ${o.name} to be created` };
    const addresses = (o.live.status?.loadBalancer?.ingress ?? []).map((a) => a.hostname || a.ip).filter((a): a is string => !!a);
    const where = addresses.length > 0 ? `, published at ${addresses.join(', ')}` : '';
    return { status: 'True', reason: 'IngressCreated', message: `Ingress ${o.name} is applied${where}` };
  }
  if (!o.served) {
    return {
      status: 'False',
      reason: 'GatewayAPINotServed',
      message: `spec.ingress.gatewayRef: the cluster does not serve HTTPRoute (gateway.networking.k8s.io/v1): install the Gateway API CRDs; the operator picks them up without a restart`,
    };
  }
  for (const r of o.routes) {
    const problem = routeProblem(r.name, r.live, o.parent);
    if (problem) return problem;
  }
  const names = o.routes.map((r) => r.name).join(', ');
  return { status: 'True', reason: 'Accepted', message: `HTTPRoute(s) ${names} accepted by ${gatewayName(o.parent)}, backends resolved` };
}
