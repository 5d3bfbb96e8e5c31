// The Ingress in front of the API and web tiers: hosts, TLS, class and annotations from the spec.
import type { V1HTTPIngressPath, V1Ingress, V1IngressRule } from '@kubernetes/client-node';
import { objectMeta } from './names.render.js';
import type { Plan } from './plan.render.js';

function path(path: string, service: string): V1HTTPIngressPath {
  return { path, pathType: 'Prefix', backend: { service: { name: service, port: { name: 'http' } } } };
}

/**
 * The Ingress; null without an ingress tier. The API gets apiHost; without one it is routed under /api (and its
 * /images/ route) on the web side, which is webHost or, without hosts, a host-less rule.
 */
export function renderIngress(plan: Plan): V1Ingress | null {
  const ingress = plan.ingress;
  if (!ingress) return null;
  const { api, web } = plan.names;
  const rules: V1IngressRule[] = [];
  if (ingress.apiHost) rules.push({ host: ingress.apiHost, http: { paths: [path('/', api)] } });
  const webSidePaths: V1HTTPIngressPath[] = [];
  if (!ingress.apiHost) webSidePaths.push(path('/api', api), path('/images', api));
  if (plan.web) webSidePaths.push(path('/', web));
  else if (!ingress.apiHost) webSidePaths.push(path('/', api));
  if (webSidePaths.length > 0) {
    const rule: V1IngressRule = { http: { paths: webSidePaths } };
    if (ingress.webHost) rule.host = ingress.webHost;
    rules.push(rule);
  }
  const annotations = Object.keys(ingress.annotations).length > 0 ? ingress.annotations : undefined;
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
