// The Ingress in front of the API and web tiers: hosts, TLS, class and annotations from the spec. The routing table
// (which host and path goes to which Service) is shared with the Gateway API HTTPRoutes of spec.ingress.gatewayRef.
import type { V1HTTPIngressPath, V1Ingress, V1IngressRule } from '@kubernetes/client-node';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../service/limits.js';
import { objectMeta } from './names.render.js';
import type { Plan } from './plan.render.js';

/** The routes of one host (undefined: any host), each a path prefix to a Service of the app, in rendering order. */
export interface HostRoutes {
  host?: string;
  /** The API host's rule (apiHost), else the web side's. */
  side: 'api' | 'web';
  paths: { path: string; service: string }[];
}

/**
 * The routing table of the ingress tier; empty without one. The API gets apiHost; without one it is routed under /api
 * (and its /images route) on the web side, which is webHost or, without hosts, host-less. Images are served by the
 * API (it reads them from the origin, which accepts only the API): no route goes to the origin.
 */
export function ingressRoutes(plan: Plan): HostRoutes[] {
  const ingress = plan.ingress;
  if (!ingress) return [];
  const { api, web } = plan.names;
  const out: HostRoutes[] = [];
  if (ingress.apiHost) out.push({ host: ingress.apiHost, side: 'api', paths: [{ path: '/', service: api }] });
  const webSide: HostRoutes['paths'] = [];
  if (!ingress.apiHost) webSide.push({ path: '/api', service: api }, { path: '/images', service: api });
  if (plan.web) webSide.push({ path: '/', service: web });
  else if (!ingress.apiHost) webSide.push({ path: '/', service: api });
  if (webSide.length > 0) out.push({ ...(ingress.webHost ? { host: ingress.webHost } : {}), side: 'web', paths: webSide });
  return out;
}

/** The request body limit the ingress must allow: the service's upload limit in whole MiB, as nginx sizes read ("10m"). */
export const UPLOAD_BODY_SIZE = `${Math.ceil(DEFAULT_MAX_UPLOAD_BYTES / (1024 * 1024))}m`;

/** The annotations that raise the request body limit of the NGINX-based controllers (both default to 1m). */
export const BODY_SIZE_ANNOTATIONS = {
  /** ingress-nginx (Kubernetes project, retired 2026; still widely run). */
  ingressNginx: 'nginx.ingress.kubernetes.io/proxy-body-size',
  /** F5 NGINX Ingress Controller. */
  nginxInc: 'nginx.org/client-max-body-size',
} as const;

/**
 * IngressClass names whose usual controllers put no limit on request bodies (Traefik, HAProxy's two controllers,
 * Contour/Envoy): their Ingresses get no body size annotation. Every other class, and no class (the cluster default,
 * which the operator cannot know), gets the NGINX ones: class names are chosen freely, both NGINX controllers call
 * theirs "nginx", and other controllers ignore annotations that are not theirs.
 */
export const NO_BODY_LIMIT_CLASSES: readonly string[] = ['traefik', 'haproxy', 'contour'];

/** The body size annotations an Ingress of this class gets so that uploads of the service's limit pass (docs/rendering.md). */
export function bodySizeAnnotations(className: string | undefined): Record<string, string> {
  if (className && NO_BODY_LIMIT_CLASSES.includes(className)) return {};
  return { [BODY_SIZE_ANNOTATIONS.ingressNginx]: UPLOAD_BODY_SIZE, [BODY_SIZE_ANNOTATIONS.nginxInc]: UPLOAD_BODY_SIZE };
}

function path(path: string, service: string): V1HTTPIngressPath {
  return { path, pathType: 'Prefix', backend: { service: { name: service, port: { name: 'http' } } } };
}

/** The Ingress; null without an ingress tier, and with spec.ingress.gatewayRef (HTTPRoutes instead: gateway.render.ts). */
export function renderIngress(plan: Plan): V1Ingress | null {
  const ingress = plan.ingress;
  if (!ingress || ingress.gatewayRef) return null;
  const rules: V1IngressRule[] = ingressRoutes(plan).map((r) => ({
    ...(r.host ? { host: r.host } : {}),
    http: { paths: r.paths.map((p) => path(p.path, p.service)) },
  }));
  // The spec's annotations win: a user who sets a body size (or 0, no limit) keeps it.
  const annotations = { ...bodySizeAnnotations(ingress.className), ...ingress.annotations };
  const out: V1Ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: objectMeta(plan.names, plan.names.ingress, 'ingress', annotations),
    spec: { rules },
  };
  if (ingress.className) out.spec!.ingressClassName = ingress.className;
  if (ingress.tls) {
    const hosts = [ingress.apiHost, ingress.webHost].filter((h): h is string => !!h);
    out.spec!.tls = [{ hosts, secretName: ingress.tls.secretName }];
  }
  return out;
}
