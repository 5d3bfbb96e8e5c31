import { expect } from 'chai';
import type { V1Container, V1Deployment, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import type { RenderedObject } from '../../../operator/render/app.render.js';
import { METRICS_PORT, POSTGRES_EXPORTER_PORT, REDIS_EXPORTER_PORT } from '../../../operator/render/constants.render.js';
import type { PodMonitor } from '../../../operator/render/monitoring.render.js';
import type { PrometheusRule } from '../../../operator/render/alerts.render.js';
import { app, ctx, render } from './helpers.js';

// The specs of the six stages, as the examples pick them (users), with an in-cluster origin where images go out.
const STAGES: Record<string, GraminstaAppSpec> = {
  'single-machine': { users: 1 },
  'split-database': { users: 10 },
  'split-clients': { users: 100 },
  'load-balanced': { users: 1000 },
  cdn: { users: 10000, cdn: { origin: { volume: { size: '1Gi' } } } },
  'data-layer': { users: 100000, cdn: { origin: { volume: { size: '1Gi' } } }, database: { readReplicas: 1 } },
};

const monitored = (spec: GraminstaAppSpec, labels?: Record<string, string>) => ({ ...spec, monitoring: { enabled: true, ...(labels ? { labels } : {}) } });
const withApi = { ...ctx(), monitoringApi: true };
const ofKind = <T>(objs: RenderedObject[], kind: string) => objs.filter((o) => o.kind === kind) as unknown as T[];
const podContainers = (o: RenderedObject): V1Container[] => {
  const spec = (o as V1Deployment | V1StatefulSet).spec?.template?.spec;
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
};
const workloads = (objs: RenderedObject[]) => objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');

describe('monitoring.render: the metrics port', () => {
  for (const [stage, spec] of Object.entries(STAGES)) {
    it(`${stage}: every service container has a containerPort named metrics, and no Service exposes a metrics port`, () => {
      const objs = render(app(monitored(spec)), withApi);
      const serving = workloads(objs).flatMap(podContainers).filter((c) => (c.env ?? []).some((e) => e.name === 'GRAMINSTA_MODE' && ['api', 'web', 'origin'].includes(e.value!)));
      expect(serving.length).to.be.greaterThan(0);
      for (const c of serving) {
        expect(c.ports, c.name).to.deep.include({ name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' });
        expect(c.env, c.name).to.deep.include({ name: 'GRAMINSTA_METRICS_PORT', value: String(METRICS_PORT) });
      }
      const metricsPorts = new Set([METRICS_PORT, POSTGRES_EXPORTER_PORT, REDIS_EXPORTER_PORT]);
      for (const svc of ofKind<V1Service>(objs, 'Service')) {
        for (const p of svc.spec?.ports ?? []) {
          expect(metricsPorts.has(Number(p.targetPort)) || /metrics/.test(String(p.targetPort)) || /metrics/.test(p.name ?? ''), `${svc.metadata?.name} port ${p.name}`).to.equal(false);
        }
      }
      // The Ingress targets only Services, by their http port.
      for (const ing of objs.filter((o) => o.kind === 'Ingress')) expect(JSON.stringify(ing)).to.not.match(/metrics|9090|9187|9121/);
    });
  }
});

describe('monitoring.render: sidecars, PodMonitors and the PrometheusRule', () => {
  it('renders none of it unless spec.monitoring.enabled', () => {
    for (const spec of Object.values(STAGES)) {
      const objs = render(app({ ...spec, monitoring: { enabled: false } }), withApi);
      expect(objs.filter((o) => o.kind === 'PodMonitor' || o.kind === 'PrometheusRule')).to.deep.equal([]);
      expect(workloads(objs).flatMap(podContainers).map((c) => c.name)).to.not.include('metrics');
    }
  });

  it('without the monitoring API renders the sidecars only (no PodMonitor, no PrometheusRule)', () => {
    const objs = render(app(monitored(STAGES['data-layer']!)), ctx());
    expect(objs.filter((o) => o.kind === 'PodMonitor' || o.kind === 'PrometheusRule')).to.deep.equal([]);
    expect(workloads(objs).flatMap(podContainers).filter((c) => c.name === 'metrics')).to.have.length(3);
  });

  it('puts a Postgres exporter beside every Postgres server (primary, replicas, the single pod) and a Redis exporter beside every Redis node', () => {
    const single = render(app(monitored(STAGES['single-machine']!)), withApi);
    const pod = workloads(single)[0] as V1StatefulSet;
    const exporter = pod.spec!.template.spec!.containers.find((c) => c.name === 'metrics')!;
    expect(exporter.env).to.deep.include.members([
      { name: 'GRAMINSTA_MODE', value: 'exporter' },
      { name: 'GRAMINSTA_EXPORTER_TARGET', value: 'postgres' },
      { name: 'GRAMINSTA_DB_HOST', value: '127.0.0.1' },
      { name: 'GRAMINSTA_METRICS_PORT', value: String(POSTGRES_EXPORTER_PORT) },
    ]);
    expect(exporter.ports).to.deep.equal([{ name: 'pg-metrics', containerPort: POSTGRES_EXPORTER_PORT, protocol: 'TCP' }]);
    expect(exporter).to.not.have.property('readinessProbe');
    const data = render(app(monitored({ ...STAGES['data-layer']!, cache: { enabled: true, shards: 3 } })), withApi);
    const byName = new Map(workloads(data).map((w) => [w.metadata!.name!, podContainers(w).map((c) => c.name)]));
    expect(byName.get('graminsta-db')).to.deep.equal(['postgres', 'metrics']);
    expect(byName.get('graminsta-db-replica')).to.deep.equal(['postgres', 'metrics']);
    expect(byName.get('graminsta-redis')).to.deep.equal(['redis', 'metrics']);
    const redis = podContainers(workloads(data).find((w) => w.metadata!.name === 'graminsta-redis')!).find((c) => c.name === 'metrics')!;
    expect(redis.env).to.deep.include.members([
      { name: 'GRAMINSTA_EXPORTER_TARGET', value: 'redis' },
      { name: 'GRAMINSTA_REDIS_NODES', value: '127.0.0.1:6379' },
      // The password as a file mounted from its Secret, like every other container's (secret-files.render.ts).
      { name: 'GRAMINSTA_REDIS_PASSWORD_FILE', value: '/etc/graminsta/secrets/graminsta-redis/password' },
    ]);
    expect(redis.volumeMounts?.map((m) => m.mountPath)).to.include('/etc/graminsta/secrets/graminsta-redis');
  });

  it('renders a PodMonitor per tier the stage runs, each on its metrics port, with the app and tier as labels', () => {
    const tiers = (spec: GraminstaAppSpec) =>
      ofKind<PodMonitor>(render(app(monitored({ ...spec, ...(spec.users === 100000 ? { cache: { enabled: true } } : {}) })), withApi), 'PodMonitor').map((m) => [
        m.metadata.name,
        m.spec.selector.matchExpressions[0]!.values!.join('+'),
        m.spec.podMetricsEndpoints[0]!.port,
        m.spec.podMetricsEndpoints[0]!.relabelings.map((r) => `${r.targetLabel}=${r.replacement}`).join(','),
      ]);
    expect(tiers(STAGES['single-machine']!)).to.deep.equal([
      ['graminsta-api', 'database', 'metrics', 'graminsta_app=graminsta,graminsta_tier=api'],
      ['graminsta-database', 'database', 'pg-metrics', 'graminsta_app=graminsta,graminsta_tier=database'],
    ]);
    expect(tiers(STAGES['split-database']!).map((t) => t[0])).to.deep.equal(['graminsta-api', 'graminsta-database', 'graminsta-origin']);
    expect(tiers(STAGES['data-layer']!)).to.deep.equal([
      ['graminsta-api', 'api', 'metrics', 'graminsta_app=graminsta,graminsta_tier=api'],
      ['graminsta-cache', 'cache', 'redis-metrics', 'graminsta_app=graminsta,graminsta_tier=cache'],
      ['graminsta-database', 'database+database-replica', 'pg-metrics', 'graminsta_app=graminsta,graminsta_tier=database'],
      ['graminsta-origin', 'origin', 'metrics', 'graminsta_app=graminsta,graminsta_tier=origin'],
      ['graminsta-web', 'web', 'metrics', 'graminsta_app=graminsta,graminsta_tier=web'],
    ]);
    // An external database has no Postgres pod to scrape.
    const external = render(app(monitored({ users: 10, database: { external: { secretName: 'rds' } } })), withApi);
    expect(ofKind<PodMonitor>(external, 'PodMonitor').map((m) => m.metadata.name)).to.not.include('graminsta-database');
    expect(workloads(external).flatMap(podContainers).map((c) => c.name)).to.not.include('metrics');
  });

  it('selects only the pods of this app and carries spec.monitoring.labels (app labels win)', () => {
    const objs = render(app(monitored(STAGES.cdn!, { release: 'prom', 'app.kubernetes.io/name': 'x' })), withApi);
    for (const o of [...ofKind<PodMonitor>(objs, 'PodMonitor'), ...ofKind<PrometheusRule>(objs, 'PrometheusRule')]) {
      expect(o.metadata.labels).to.include({ release: 'prom', 'app.kubernetes.io/name': 'graminsta', 'app.kubernetes.io/managed-by': 'graminsta-operator' });
    }
    for (const m of ofKind<PodMonitor>(objs, 'PodMonitor')) expect(m.spec.selector.matchLabels).to.deep.equal({ 'app.kubernetes.io/name': 'graminsta', 'app.kubernetes.io/instance': 'graminsta' });
  });

  it('alerts only on the tiers the stage runs', () => {
    const alerts = (spec: GraminstaAppSpec) => ofKind<PrometheusRule>(render(app(monitored(spec)), withApi), 'PrometheusRule').flatMap((r) => r.spec.groups.flatMap((g) => g.rules.map((x) => x.alert)));
    const base = ['GraminstaTargetDown', 'GraminstaApiErrorRate', 'GraminstaApiLatencyP99'];
    expect(alerts(STAGES['single-machine']!)).to.deep.equal([...base, 'GraminstaPostgresDown', 'GraminstaVolumeNearlyFull']);
    expect(alerts(STAGES['split-clients']!)).to.deep.equal([...base, 'GraminstaPostgresDown', 'GraminstaVolumeNearlyFull']);
    expect(alerts(STAGES['load-balanced']!)).to.deep.equal([...base, 'GraminstaApiAtMaxReplicas', 'GraminstaPostgresDown', 'GraminstaVolumeNearlyFull']);
    expect(alerts({ ...STAGES['load-balanced']!, web: { autoscaling: { maxReplicas: 4 } } })).to.include('GraminstaWebAtMaxReplicas');
    expect(alerts({ ...STAGES['data-layer']!, cache: { enabled: true } })).to.deep.equal([
      ...base,
      'GraminstaApiAtMaxReplicas',
      'GraminstaWebAtMaxReplicas',
      'GraminstaPostgresDown',
      'GraminstaPostgresReplicaLag',
      'GraminstaRedisDown',
      'GraminstaCacheHitRatioLow',
      'GraminstaVolumeNearlyFull',
    ]);
    expect(alerts({ users: 10, database: { external: { secretName: 'rds' } }, cdn: { origin: { s3: { bucket: 'b' } } } })).to.deep.equal(base);
    // Backups: an alert while they are scheduled, none while suspended.
    const backup = { schedule: '@daily', destination: { s3: { bucket: 'backups', credentialsSecret: 'b' } } };
    expect(alerts({ ...STAGES['split-database']!, database: { backup } })).to.include('GraminstaBackupFailing');
    expect(alerts({ ...STAGES['split-database']!, database: { backup: { ...backup, suspend: true } } })).to.not.include('GraminstaBackupFailing');
    expect(alerts(STAGES['split-database']!)).to.not.include('GraminstaBackupFailing');
  });

  it('watches exactly the app volumes the stage has (claim template, StatefulSet, ordinal)', () => {
    const rule = ofKind<PrometheusRule>(render(app(monitored({ ...STAGES['data-layer']!, cache: { enabled: true } })), withApi), 'PrometheusRule')[0]!;
    const disk = rule.spec.groups[0]!.rules.find((r) => r.alert === 'GraminstaVolumeNearlyFull')!;
    const pattern = new RegExp(`^${/persistentvolumeclaim=~"([^"]+)"/.exec(disk.expr)![1]}$`);
    for (const claim of ['data-graminsta-db-0', 'data-graminsta-db-replica-1', 'images-graminsta-origin-0', 'data-graminsta-redis-5']) expect(claim).to.match(pattern);
    for (const claim of ['data-other-db-0', 'data-graminsta-db', 'tmp-graminsta-api-0']) expect(claim).to.not.match(pattern);
  });
});
