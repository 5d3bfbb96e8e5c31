// The topology of an app as a graph, read off the objects the renderer produces for its plan: workloads and
// Services, who routes to whom (Ingress rules, Service selectors) and who connects to whom (the Service hosts in
// each pod's environment and ConfigMaps), with replica counts and the stage. Pure.
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1Ingress,
  V1Job,
  V1PodTemplateSpec,
  V1Service,
  V1StatefulSet,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { ImageSettings } from '../api/images.api.js';
import type { Stage } from '../api/schema.api.js';
import type { GraminstaApp } from '../api/types.gen.js';
import { renderApp, type RenderedObject } from '../render/app.render.js';
import type { HTTPRoute } from '../render/gateway.render.js';
import { placeholderContext } from '../render/manifests.render.js';
import { planOf, type Plan } from '../render/plan.render.js';

/** What a node of the topology stands for. */
export type NodeKind = 'clients' | 'cdn' | 'ingress' | 'service' | 'deployment' | 'statefulset' | 'job' | 'external';

/** A box of the diagram: an object of the app, or something outside it (clients, CDN, S3, a managed database). */
export interface TopologyNode {
  /** Unique, [a-z0-9_] only (usable as a Mermaid id). */
  id: string;
  kind: NodeKind;
  /** The object's name, or what the outside thing is. */
  name: string;
  /** Lines under the name: the kind, replica counts, containers. */
  details: string[];
}

/** How one node uses another: `routes` (Ingress rule, CDN pull), `selects` (Service to pods), `connects` (a client of it). */
export type EdgeKind = 'routes' | 'selects' | 'connects';

/** An arrow of the diagram. */
export interface TopologyEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  label?: string;
}

/** The topology of one app. */
export interface Topology {
  app: string;
  namespace: string;
  stage: Stage;
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

/** Environment keys whose URLs are handed to browsers (service-env.md), not connections the pod makes. */
const PUBLIC_KEYS = /PUBLIC|CDN_BASE/;

type Workload = V1Deployment | V1StatefulSet | V1Job;

const CLIENTS = 'clients';
const CDN = 'cdn';
const S3 = 's3';
const EXTERNAL_DB = 'external_database';

function idOf(kind: string, name: string): string {
  return `${kind.toLowerCase()}_${name.replace(/[^a-z0-9]/g, '_')}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The containers of a pod template that run for the pod's life: containers and native sidecars. */
function runningContainers(template: V1PodTemplateSpec | undefined): string[] {
  const spec = template?.spec;
  const sidecars = (spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => `${c.name} (sidecar)`);
  return [...(spec?.containers ?? []).map((c) => c.name), ...sidecars];
}

/** Every environment value a pod sees, by key: its containers' env and the ConfigMaps they load whole. */
function podEnvironment(template: V1PodTemplateSpec | undefined, configMaps: Map<string, V1ConfigMap>): [string, string][] {
  const spec = template?.spec;
  const containers: V1Container[] = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
  const out: [string, string][] = [];
  for (const c of containers) {
    for (const from of c.envFrom ?? []) {
      const cm = from.configMapRef?.name ? configMaps.get(from.configMapRef.name) : undefined;
      for (const [k, v] of Object.entries(cm?.data ?? {})) out.push([k, v]);
    }
    for (const e of c.env ?? []) if (e.value !== undefined) out.push([e.name, e.value]);
  }
  return out;
}

function secretRefs(template: V1PodTemplateSpec | undefined): Set<string> {
  const spec = template?.spec;
  const env: V1EnvVar[] = [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].flatMap((c) => c.env ?? []);
  return new Set(env.map((e) => e.valueFrom?.secretKeyRef?.name).filter((n): n is string => !!n));
}

/** The Services of the app named in a value as `<service>.<namespace>.svc` (also as the tail of a pod's DNS name). */
function servicesIn(value: string, namespace: string, services: Set<string>): string[] {
  const re = new RegExp(`([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\.${namespace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.svc\\b`, 'g');
  return [...value.matchAll(re)].map((m) => m[1]!).filter((s) => services.has(s));
}

function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

function replicasOf(w: Workload, hpas: V2HorizontalPodAutoscaler[], plan: Plan): string {
  if (w.kind === 'Job') return 'runs to completion';
  const hpa = hpas.find((h) => h.spec?.scaleTargetRef?.kind === w.kind && h.spec!.scaleTargetRef.name === w.metadata?.name);
  if (hpa) return `${hpa.spec!.minReplicas ?? 1}–${hpa.spec!.maxReplicas} pods (HPA at ${hpa.spec!.metrics?.[0]?.resource?.target?.averageUtilization ?? '?'}% CPU)`;
  const n = (w as V1Deployment | V1StatefulSet).spec?.replicas ?? 1;
  if (w.metadata?.name === plan.names.redis && plan.cache?.mode === 'cluster') {
    return `${plural(n, 'pod')}: ${plural(plan.cache.shards, 'shard')} × (1 + ${plan.cache.replicasPerShard})`;
  }
  return plural(n, 'pod');
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * The topology of the objects rendered for plan: every Deployment, StatefulSet, Job, Ingress and HTTPRoute; every Service
 * (a headless one only when a pod other than its own reaches it); the clients, and the CDN, S3 bucket or external
 * database where the plan has them. Nodes and edges come out in a stable order.
 */
export function topologyOf(plan: Plan, objects: RenderedObject[]): Topology {
  const { names } = plan;
  const ofKind = <T>(kind: string) => objects.filter((o) => o.kind === kind) as T[];
  const services = ofKind<V1Service>('Service');
  const workloads: Workload[] = [...ofKind<V1Deployment>('Deployment'), ...ofKind<V1StatefulSet>('StatefulSet'), ...ofKind<V1Job>('Job')];
  const hpas = ofKind<V2HorizontalPodAutoscaler>('HorizontalPodAutoscaler');
  const ingresses = ofKind<V1Ingress>('Ingress');
  const routes = ofKind<HTTPRoute>('HTTPRoute');
  const configMaps = new Map(ofKind<V1ConfigMap>('ConfigMap').map((c) => [c.metadata!.name!, c]));
  const serviceNames = new Set(services.map((s) => s.metadata!.name!));
  const serviceById = (name: string) => idOf('Service', name);

  const nodes: TopologyNode[] = [];
  const edges: TopologyEdge[] = [];
  const edge = (from: string, to: string, kind: EdgeKind, label?: string) => {
    if (!edges.some((e) => e.from === from && e.to === to && e.kind === kind)) edges.push({ from, to, kind, ...(label ? { label } : {}) });
  };

  // Who connects to which Service, and which workload each Service selects.
  const selected = new Map<string, Workload[]>();
  for (const s of services) {
    selected.set(s.metadata!.name!, workloads.filter((w) => w.kind !== 'Job' && selects(s.spec?.selector, w.spec?.template?.metadata?.labels)));
  }
  const reached = new Set<string>();
  for (const w of workloads) {
    const from = idOf(w.kind!, w.metadata!.name!);
    const template = w.spec?.template;
    const targets = new Set<string>();
    let s3 = false;
    for (const [key, value] of podEnvironment(template, configMaps)) {
      if (PUBLIC_KEYS.test(key)) continue;
      for (const svc of servicesIn(value, names.namespace, serviceNames)) targets.add(svc);
      if (/S3_BUCKET$/.test(key) && value) s3 = true;
    }
    for (const svc of [...targets].sort()) {
      // A pod naming its own Service (a Redis node announcing its address) is not an arrow.
      if (selected.get(svc)?.includes(w)) continue;
      reached.add(svc);
      edge(from, serviceById(svc), 'connects');
    }
    if (s3 && plan.storage.kind === 's3') edge(from, S3, 'connects', 'images');
    if (plan.database.placement === 'external' && secretRefs(template).has(plan.database.secretName)) edge(from, EXTERNAL_DB, 'connects');
  }

  // Clients reach the app through the Ingress, else through the Services its endpoints name.
  nodes.push({ id: CLIENTS, kind: 'clients', name: 'clients', details: ['browsers and apps'] });
  // The Ingress, or the HTTPRoutes of spec.ingress.gatewayRef, each as an ingress node with its routes.
  const entries = [
    ...ingresses.map((ing) => ({
      kind: 'Ingress',
      name: ing.metadata!.name!,
      details: [`Ingress${ing.spec?.ingressClassName ? ` (${ing.spec.ingressClassName})` : ''}`, ...(ing.spec?.tls?.length ? ['TLS'] : [])],
      paths: (ing.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => ({ host: r.host, path: p.path ?? '/', service: p.backend.service?.name }))),
      hosts: (ing.spec?.rules ?? []).map((r) => r.host ?? '*'),
    })),
    ...routes.map((route) => {
      const parent = route.spec.parentRefs[0]!;
      return {
        kind: 'HTTPRoute',
        name: route.metadata.name,
        details: [`HTTPRoute (Gateway ${parent.namespace}/${parent.name})`],
        paths: route.spec.rules.map((r) => ({ host: route.spec.hostnames?.[0], path: r.matches[0]?.path.value ?? '/', service: r.backendRefs[0]?.name })),
        hosts: route.spec.hostnames ?? ['*'],
      };
    }),
  ];
  for (const ing of entries) {
    const id = idOf(ing.kind, ing.name);
    nodes.push({ id, kind: 'ingress', name: ing.name, details: ing.details });
    edge(CLIENTS, id, 'routes', [...new Set(ing.hosts)].join(', '));
    for (const p of ing.paths) {
      const svc = p.service;
      if (!svc || !serviceNames.has(svc)) continue;
      reached.add(svc);
      const label = `${p.host ?? '*'}${p.path}`;
      const existing = edges.find((e) => e.from === id && e.to === serviceById(svc));
      if (existing) existing.label = `${existing.label}, ${p.path}`;
      else edge(id, serviceById(svc), 'routes', label);
    }
  }
  if (entries.length === 0) {
    for (const url of [plan.endpoints.api, plan.endpoints.web]) {
      const svc = services.find((s) => hostOf(url) === `${s.metadata!.name}.${names.namespace}.svc`);
      if (svc) {
        reached.add(svc.metadata!.name!);
        edge(CLIENTS, serviceById(svc.metadata!.name!), 'routes', 'in-cluster');
      }
    }
  }
  if (plan.cdnBaseURL) {
    nodes.push({ id: CDN, kind: 'cdn', name: 'CDN', details: [hostOf(plan.cdnBaseURL)] });
    edge(CLIENTS, CDN, 'routes', 'images');
    if (plan.storage.kind === 's3') edge(CDN, S3, 'routes', 'pulls');
    else if (serviceNames.has(names.origin)) {
      reached.add(names.origin);
      edge(CDN, serviceById(names.origin), 'routes', 'pulls');
    }
  }
  if (plan.storage.kind === 's3') {
    const { bucket, endpoint } = plan.storage.s3;
    nodes.push({ id: S3, kind: 'external', name: `S3 bucket ${bucket}`, details: [endpoint ? hostOf(endpoint) : plan.storage.s3.region] });
  }
  if (plan.database.placement === 'external') {
    nodes.push({ id: EXTERNAL_DB, kind: 'external', name: 'external Postgres', details: [`Secret ${plan.database.secretName}`] });
  }

  for (const s of services) {
    const name = s.metadata!.name!;
    const headless = s.spec?.clusterIP === 'None';
    if (headless && !reached.has(name)) continue;
    const ports = (s.spec?.ports ?? []).map((p) => p.port).join(', ');
    nodes.push({ id: serviceById(name), kind: 'service', name, details: [`Service${headless ? ', headless' : ''} :${ports}`] });
    for (const w of selected.get(name) ?? []) edge(serviceById(name), idOf(w.kind!, w.metadata!.name!), 'selects');
  }
  for (const w of workloads) {
    const kind = w.kind === 'Deployment' ? 'deployment' : w.kind === 'StatefulSet' ? 'statefulset' : 'job';
    const containers = runningContainers(w.spec?.template);
    nodes.push({
      id: idOf(w.kind!, w.metadata!.name!),
      kind,
      name: w.metadata!.name!,
      details: [w.kind!, replicasOf(w, hpas, plan), ...(containers.length > 1 || kind === 'statefulset' ? [containers.join(' + ')] : [])],
    });
  }

  const rank: Record<NodeKind, number> = { clients: 0, cdn: 1, ingress: 2, service: 3, deployment: 4, statefulset: 5, job: 6, external: 7 };
  nodes.sort((a, b) => rank[a.kind] - rank[b.kind] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const order = new Map(nodes.map((n, i) => [n.id, i]));
  edges.sort((a, b) => order.get(a.from)! - order.get(b.from)! || order.get(a.to)! - order.get(b.to)!);
  return { app: names.app, namespace: names.namespace, stage: plan.stage, nodes, edges };
}

/** The topology of an app as the operator with these image settings would run it (the same plan and render). */
export function appTopology(app: GraminstaApp, images: ImageSettings): Topology {
  const plan = planOf(app, images);
  return topologyOf(plan, renderApp(plan, placeholderContext()));
}
