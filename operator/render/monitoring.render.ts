// Monitoring of a monitored app (spec.monitoring.enabled): the metrics sidecars of Postgres and Redis (the service
// image in exporter mode) and a PodMonitor per tier that runs. The alerts are in alerts.render.ts.
import type { KubernetesObject, V1Container, V1EnvVar, V1LabelSelectorRequirement } from '@kubernetes/client-node';
import { DB_NAME, DB_USER, POSTGRES_EXPORTER_PORT, POSTGRES_PORT, REDIS_EXPORTER_PORT, REDIS_PORT } from './constants.render.js';
import { databaseCaEnv, IN_CLUSTER_SSLMODE, redisPasswordEnv, secretEnv } from './env.render.js';
import { componentsSelector, objectMeta, type Component } from './names.render.js';
import { DB_SECRET_KEYS, redisComponent, type Plan, type ResolvedPlan } from './plan.render.js';
import { serviceContainer } from './workload.render.js';

/** The API version of the Prometheus Operator's kinds. */
export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';

/** Label naming the app on every scraped series (a PodMonitor relabeling), so alerts and dashboards select one app. */
export const APP_LABEL = 'graminsta_app';
/** Label naming the tier (api, web, origin, database, cache) on every scraped series. */
export const TIER_LABEL = 'graminsta_tier';

/** Container port names of the metrics listeners. */
export const METRICS_PORT_NAMES = { service: 'metrics', postgres: 'pg-metrics', redis: 'redis-metrics' } as const;

/** The tiers that get a PodMonitor, as TIER_LABEL values. */
export type MonitoredTier = 'api' | 'web' | 'origin' | 'database' | 'cache';

/** A monitoring.coreos.com/v1 PodMonitor, as far as the operator fills it. */
export interface PodMonitor extends KubernetesObject {
  apiVersion: typeof MONITORING_API_VERSION;
  kind: 'PodMonitor';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    selector: { matchLabels: Record<string, string>; matchExpressions: V1LabelSelectorRequirement[] };
    podMetricsEndpoints: { port: string; path: string; interval: string; scrapeTimeout: string; relabelings: { targetLabel: string; replacement: string; action: 'replace' }[] }[];
  };
}

/** An exporter-mode container of the service image reading `target` on its own pod, serving its metrics on `port`. */
function exporterContainer(plan: Plan, target: 'postgres' | 'redis', port: { name: string; number: number }, env: V1EnvVar[]): V1Container {
  const container = serviceContainer({
    name: 'metrics',
    mode: 'exporter',
    image: plan.images.service,
    kind: 'exporter',
    env: [{ name: 'GRAMINSTA_EXPORTER_TARGET', value: target }, { name: 'GRAMINSTA_METRICS_PORT', value: String(port.number) }, ...env, { name: 'LOG_LEVEL', value: 'warn' }],
  });
  return { ...container, ports: [{ name: port.name, containerPort: port.number, protocol: 'TCP' }] };
}

/** The metrics sidecar of a Postgres pod (primary, replica or the single-machine pod); null unless the app is monitored. */
export function postgresExporterContainer(plan: Plan): V1Container | null {
  if (!plan.monitoring || plan.database.placement === 'external') return null;
  // Its own pod's server: a replica reports its own lag.
  return exporterContainer(plan, 'postgres', { name: METRICS_PORT_NAMES.postgres, number: POSTGRES_EXPORTER_PORT }, [
    { name: 'GRAMINSTA_DB_HOST', value: '127.0.0.1' },
    { name: 'GRAMINSTA_DB_PORT', value: String(POSTGRES_PORT) },
    { name: 'GRAMINSTA_DB_NAME', value: DB_NAME },
    { name: 'GRAMINSTA_DB_USER', value: DB_USER },
    // Over TLS on loopback too: pg_hba admits no TCP connection without it (the certificate names 127.0.0.1).
    { name: 'GRAMINSTA_DB_SSLMODE', value: IN_CLUSTER_SSLMODE },
    secretEnv('GRAMINSTA_DB_PASSWORD', plan.names.databaseSecret, DB_SECRET_KEYS.password),
    ...databaseCaEnv(plan),
  ]);
}

/** The metrics sidecar of each Redis pod; null unless the app is monitored and has a cache. */
export function redisExporterContainer(plan: Plan): V1Container | null {
  if (!plan.monitoring || !plan.cache) return null;
  return exporterContainer(plan, 'redis', { name: METRICS_PORT_NAMES.redis, number: REDIS_EXPORTER_PORT }, [
    { name: 'GRAMINSTA_REDIS_NODES', value: `127.0.0.1:${REDIS_PORT}` },
    redisPasswordEnv(plan, 'GRAMINSTA_REDIS_PASSWORD'),
  ]);
}

/** Which pods each monitored tier scrapes, and on which port; only the tiers the plan runs. */
export function monitoredTiers(plan: Plan): { tier: MonitoredTier; components: Component[]; port: string }[] {
  const out: { tier: MonitoredTier; components: Component[]; port: string }[] = [];
  const embedded = plan.database.placement === 'embedded';
  // At single-machine the API container runs in the database pod; its metrics port is the service's.
  out.push({ tier: 'api', components: embedded ? ['database'] : ['api'], port: METRICS_PORT_NAMES.service });
  if (plan.web) out.push({ tier: 'web', components: ['web'], port: METRICS_PORT_NAMES.service });
  if (plan.storage.kind === 'origin') out.push({ tier: 'origin', components: ['origin'], port: METRICS_PORT_NAMES.service });
  if (plan.database.placement !== 'external') {
    out.push({ tier: 'database', components: plan.database.readReplicas > 0 ? ['database', 'database-replica'] : ['database'], port: METRICS_PORT_NAMES.postgres });
  }
  if (plan.cache) out.push({ tier: 'cache', components: [redisComponent(plan.cache.mode)], port: METRICS_PORT_NAMES.redis });
  return out;
}

/** Labels of the monitoring objects: the component's, plus spec.monitoring.labels (for the Prometheus's selectors). */
export function monitoringMeta(plan: Plan, name: string, component: Component): PodMonitor['metadata'] {
  const meta = objectMeta(plan.names, name, component);
  return { ...meta, labels: { ...plan.monitoring?.labels, ...meta.labels } };
}

/** One PodMonitor per tier that runs; empty unless the app is monitored and the cluster serves the kind. */
export function renderPodMonitors(plan: ResolvedPlan): PodMonitor[] {
  if (!plan.monitoring || !plan.monitoringApi) return [];
  const { app } = plan.names;
  return monitoredTiers(plan).map(({ tier, components, port }) => {
    return {
      apiVersion: MONITORING_API_VERSION,
      kind: 'PodMonitor',
      metadata: monitoringMeta(plan, `${app}-${tier}`, components[0]!),
      spec: {
        selector: componentsSelector(plan.names, components),
        podMetricsEndpoints: [
          {
            port,
            path: '/metrics',
            interval: '30s',
            scrapeTimeout: '10s',
            relabelings: [
              { targetLabel: APP_LABEL, replacement: app, action: 'replace' },
              { targetLabel: TIER_LABEL, replacement: tier, action: 'replace' },
            ],
          },
        ],
      },
    } satisfies PodMonitor;
  });
}
