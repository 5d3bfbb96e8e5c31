// Gateway API HTTPRoutes (spec.ingress.gatewayRef): the Ingress's routes (ingress.render.ts), attached to a Gateway
// the platform team runs, instead of an Ingress.
import { objectMeta } from './names.render.js';
import type { Plan, ResolvedPlan } from './plan.render.js';
import { ingressRoutes } from './ingress.render.js';
import { HTTP_SERVICE_PORT } from './workload.render.js';

/** The API version of the Gateway API kinds the operator renders (the standard channel's v1). */
export const GATEWAY_API_VERSION = 'gateway.networking.k8s.io/v1';

/** A Gateway API ParentReference to a Gateway, every field the operator sets written out (as status.parents[] echoes it). */
export interface GatewayParentRef {
  group: 'gateway.networking.k8s.io';
  kind: 'Gateway';
  name: string;
  namespace: string;
  sectionName?: string;
}

/** A gateway.networking.k8s.io/v1 HTTPRoute, as far as the operator fills it. */
export interface HTTPRoute {
  apiVersion: typeof GATEWAY_API_VERSION;
  kind: 'HTTPRoute';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    parentRefs: GatewayParentRef[];
    hostnames?: string[];
    rules: { matches: { path: { type: 'PathPrefix'; value: string } }[]; backendRefs: { name: string; port: number }[] }[];
  };
}

/** The Gateway the app's HTTPRoutes attach to (spec.ingress.gatewayRef, its namespace defaulted); null without gatewayRef. */
export function gatewayParentRef(plan: Plan): GatewayParentRef | null {
  const ref = plan.ingress?.gatewayRef;
  if (!ref) return null;
  return {
    group: 'gateway.networking.k8s.io',
    kind: 'Gateway',
    name: ref.name,
    namespace: ref.namespace ?? plan.names.namespace,
    ...(ref.sectionName ? { sectionName: ref.sectionName } : {}),
  };
}

/** The name of the HTTPRoute of one side of the routing table: `<app>-api` for apiHost, `<app>` for the web side. */
export function httpRouteName(plan: Plan, side: 'api' | 'web'): string {
  return side === 'api' ? plan.names.apiRoute : plan.names.ingress;
}

/** The names of the HTTPRoutes an app with spec.ingress.gatewayRef has (where the cluster serves them). */
export function httpRouteNames(plan: Plan): string[] {
  return gatewayParentRef(plan) ? ingressRoutes(plan).map((r) => httpRouteName(plan, r.side)) : [];
}

/**
 * The HTTPRoutes of an app with spec.ingress.gatewayRef, one per host of the routing table: `<app>-api` for apiHost,
 * `<app>` for the web side (webHost, or no hostnames). Empty without gatewayRef, and where the cluster does not serve
 * HTTPRoutes (the status says so). One rule per path, so a Gateway's longest-prefix match picks /api before /.
 */
export function renderHTTPRoutes(plan: ResolvedPlan): HTTPRoute[] {
  const parent = gatewayParentRef(plan);
  if (!parent || !plan.gatewayApi) return [];
  return ingressRoutes(plan).map((r) => ({
    apiVersion: GATEWAY_API_VERSION,
    kind: 'HTTPRoute',
    metadata: objectMeta(plan.names, httpRouteName(plan, r.side), 'ingress', plan.ingress!.annotations),
    spec: {
      parentRefs: [parent],
      ...(r.host ? { hostnames: [r.host] } : {}),
      rules: r.paths.map((p) => ({
        matches: [{ path: { type: 'PathPrefix', value: p.path } }],
        backendRefs: [{ name: p.service, port: HTTP_SERVICE_PORT.port }],
      })),
    },
  }));
}
