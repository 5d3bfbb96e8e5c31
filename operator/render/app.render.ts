// The entry point of rendering: one GraminstaApp in, every desired child object out, in a stable order.
import type {
  V1ConfigMap,
  V1CronJob,
  V1Deployment,
  V1Ingress,
  V1Job,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
  V1StatefulSet,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { renderPrometheusRule, type PrometheusRule } from './alerts.render.js';
import { renderApiDeployment, renderApiHpa, renderApiPdb, renderApiService } from './api.render.js';
import {
  renderRedisClusterJob,
  renderRedisHeadlessService,
  renderRedisPdb,
  renderRedisService,
  renderRedisStatefulSet,
} from './cache.render.js';
import { renderApiConfigMap, renderOriginConfigMap, renderWebConfigMap } from './config.render.js';
import type { RenderContext } from './context.render.js';
import {
  renderDatabaseHeadlessService,
  renderDatabaseReplicaHeadlessService,
  renderDatabaseReplicaPdb,
  renderDatabaseReplicaStatefulSet,
  renderDatabaseRoService,
  renderDatabaseRwService,
  renderDatabaseStatefulSet,
} from './database.render.js';
import { renderDatabaseTlsSecrets } from './database-tls.render.js';
import { renderImageMoveJobs } from './images.render.js';
import { renderBackupCronJob } from './backup.render.js';
import { renderHTTPRoutes, type HTTPRoute } from './gateway.render.js';
import { renderIngress } from './ingress.render.js';
import { renderMigrateJob } from './migrate.render.js';
import { renderNetworkPolicies, type NetworkPolicy } from './network-policy.render.js';
import { renderPodMonitors, type PodMonitor } from './monitoring.render.js';
import { renderOriginHeadlessService, renderOriginService, renderOriginStatefulSet } from './origin.render.js';
import { VERSION_LABEL, serviceVersion } from './names.render.js';
import type { Plan } from './plan.render.js';
import { resolvePlan } from './resolve.render.js';
import { renderScriptsConfigMap } from './scripts-configmap.render.js';
import { isGeneratedSecret, renderGeneratedSecrets } from './secrets.render.js';
import { renderSingleMachineStatefulSet } from './single-machine.render.js';
import { renderWebDeployment, renderWebHpa, renderWebPdb, renderWebService } from './web.render.js';

/** Any object renderApp produces, each fully typed with apiVersion, kind and metadata. */
export type RenderedObject =
  | V1Secret
  | V1ConfigMap
  | V1Service
  | V1StatefulSet
  | V1Job
  | V1CronJob
  | V1Deployment
  | V2HorizontalPodAutoscaler
  | V1PodDisruptionBudget
  | V1Ingress
  | HTTPRoute
  | NetworkPolicy
  | PodMonitor
  | PrometheusRule;

/** The order of kinds in renderApp's output: what others depend on comes first. */
export const KIND_ORDER = [
  'Secret',
  'ConfigMap',
  'Service',
  'StatefulSet',
  'Job',
  'CronJob',
  'Deployment',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'Ingress',
  'HTTPRoute',
  'NetworkPolicy',
  'PodMonitor',
  'PrometheusRule',
] as const;

/** Sorts objects by KIND_ORDER, then by name. */
export function sortObjects<T extends { kind?: string; metadata?: { name?: string } }>(objects: T[]): T[] {
  const rank = (kind: string | undefined) => KIND_ORDER.indexOf(kind as (typeof KIND_ORDER)[number]);
  return [...objects].sort((a, b) => {
    const byKind = rank(a.kind) - rank(b.kind);
    if (byKind !== 0) return byKind;
    const an = a.metadata?.name ?? '';
    const bn = b.metadata?.name ?? '';
    return an < bn ? -1 : an > bn ? 1 : 0;
  });
}

/**
 * obj with app.kubernetes.io/version (the service version) on its labels, and on its pod template's when its pods
 * run the service image; never on selectors (immutable on Deployments and StatefulSets: they stay as they were).
 * Left out: generated Secrets (created once, never updated, so the label would go stale), the pods of Jobs (a
 * Job's template is immutable: a new label would re-create, and re-run, a Job that already ran) and the pods of
 * Postgres and Redis (a new service version must not restart the database).
 */
function withVersion<T extends RenderedObject>(obj: T, plan: Plan): T {
  if (isGeneratedSecret(obj)) return obj;
  const version = serviceVersion(plan.images.service);
  const out = { ...obj, metadata: { ...obj.metadata, labels: { ...obj.metadata?.labels, [VERSION_LABEL]: version } } };
  if (obj.kind !== 'Deployment' && obj.kind !== 'StatefulSet') return out;
  const spec = (obj as V1Deployment | V1StatefulSet).spec!;
  if (!spec.template.spec?.containers.some((c) => c.image === plan.images.service)) return out;
  const template = { ...spec.template, metadata: { ...spec.template.metadata, labels: { ...spec.template.metadata?.labels, [VERSION_LABEL]: version } } };
  return { ...out, spec: { ...spec, template } };
}

/**
 * Every object the app should have, sorted by kind then name; anything of the app not in the list should be pruned.
 * Pure and deterministic: the same plan and context always give deep-equal output.
 */
export function renderApp(plan: Plan, ctx: RenderContext): RenderedObject[] {
  const p = resolvePlan(plan, ctx);
  const objects: (RenderedObject | null)[] = [
    ...renderGeneratedSecrets(p),
    ...renderDatabaseTlsSecrets(p),
    renderApiConfigMap(p),
    renderWebConfigMap(p),
    renderOriginConfigMap(p),
    renderScriptsConfigMap(p),
    renderSingleMachineStatefulSet(p),
    renderDatabaseStatefulSet(p),
    renderDatabaseHeadlessService(p),
    renderDatabaseRwService(p),
    renderDatabaseReplicaStatefulSet(p),
    renderDatabaseReplicaHeadlessService(p),
    renderDatabaseRoService(p),
    renderDatabaseReplicaPdb(p),
    renderMigrateJob(p),
    renderBackupCronJob(p),
    ...renderImageMoveJobs(p),
    renderApiDeployment(p),
    renderApiService(p),
    renderApiHpa(p),
    renderApiPdb(p),
    renderWebDeployment(p),
    renderWebService(p),
    renderWebHpa(p),
    renderWebPdb(p),
    renderIngress(p),
    ...renderHTTPRoutes(p),
    renderOriginStatefulSet(p),
    renderOriginService(p),
    renderOriginHeadlessService(p),
    renderRedisStatefulSet(p),
    renderRedisService(p),
    renderRedisHeadlessService(p),
    renderRedisPdb(p),
    renderRedisClusterJob(p),
    ...renderNetworkPolicies(p),
    ...renderPodMonitors(p),
    renderPrometheusRule(p),
  ];
  const sorted = sortObjects(objects.filter((o): o is RenderedObject => o !== null)).map((o) => withVersion(o, plan));
  // A JSON copy: plain data in which no two places share an object that a caller could mutate.
  return JSON.parse(JSON.stringify(sorted)) as RenderedObject[];
}
