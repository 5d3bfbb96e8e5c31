import { expect } from 'chai';
import type { V1Container, V1Deployment } from '@kubernetes/client-node';
import {
  renderDatabaseReplicaPdb,
  renderDatabaseReplicaStatefulSet,
  renderDatabaseRoService,
  renderDatabaseStatefulSet,
  slotWalKeepSize,
} from '../../../operator/render/database.render.js';
import { renderApiConfigMap } from '../../../operator/render/config.render.js';
import { renderScriptsConfigMap, replicationSlotOf } from '../../../operator/render/scripts-configmap.render.js';
import { renderMigrateJob } from '../../../operator/render/migrate.render.js';
import { app, ctx, plan, resolved, render } from './helpers.js';

function envOf(c: V1Container | undefined): Record<string, string> {
  return Object.fromEntries(
    (c?.env ?? []).map((e) => [
      e.name,
      e.value ??
        `secret:${e.valueFrom?.secretKeyRef?.name}/${e.valueFrom?.secretKeyRef?.key}${e.valueFrom?.secretKeyRef?.optional ? '?' : ''}`,
    ]),
  );
}

describe('database.render', () => {
  describe('slotWalKeepSize', () => {
    const cases: [string, string][] = [
      ['5Gi', '1024MB'], // 20% of the volume
      ['100Gi', '2048MB'], // capped at 2GB
      ['10240Mi', '2048MB'],
      ['100Mi', '64MB'], // at least 64MB
    ];
    for (const [size, want] of cases) it(`keeps ${want} of WAL for slots on a ${size} volume`, () => expect(slotWalKeepSize(size)).to.equal(want));
    it('names the field of a size that is not a quantity', () => expect(() => slotWalKeepSize('lots')).to.throw(/spec\.database\.storage\.size/));
  });

  it('passes the primary a max_slot_wal_keep_size sized to its volume', () => {
    const sts = renderDatabaseStatefulSet(resolved(app({ users: 10, database: { storage: { size: '5Gi' } } }), ctx()))!;
    expect(envOf(sts.spec?.template.spec?.containers[0]).POSTGRES_MAX_SLOT_WAL_KEEP_SIZE).to.equal('1024MB');
  });

  it('runs a primary StatefulSet with a -rw Service from stage split-database', () => {
    const objects = render(app({ users: 10 }), ctx()).map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(objects).to.include.members([
      'StatefulSet/graminsta-db',
      'Service/graminsta-db-rw',
      'Service/graminsta-db-headless',
    ]);
    expect(objects).to.not.include('Service/graminsta-db-ro');
    const sts = renderDatabaseStatefulSet(resolved(
      app({ users: 10, database: { storage: { size: '7Gi', storageClassName: 'fast' } } }),
      ctx(),
    ))!;
    expect(sts.spec?.replicas).to.equal(1);
    expect(sts.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests).to.deep.equal({ storage: '7Gi' });
    expect(sts.spec?.volumeClaimTemplates?.[0]?.spec?.storageClassName).to.equal('fast');
    const env = envOf(sts.spec?.template.spec?.containers[0]);
    expect(env.POSTGRES_APP_PASSWORD_FILE).to.equal('/etc/graminsta/secrets/graminsta-db/password');
    expect(env.POSTGRES_REPLICATION_PASSWORD_FILE).to.equal('/etc/graminsta/secrets/graminsta-db/replication-password');
    expect(env).to.not.have.property('POSTGRES_APP_PASSWORD');
  });

  it('adds streaming read replicas bootstrapped from the -rw Service, a -ro Service and a PDB for two or more', () => {
    const a = app({ users: 10, database: { readReplicas: 2 } });
    const sts = renderDatabaseReplicaStatefulSet(resolved(a, ctx()))!;
    expect(sts.spec?.replicas).to.equal(2);
    const env = envOf(sts.spec?.template.spec?.containers[0]);
    expect(env.POSTGRES_PRIMARY_HOST).to.equal('graminsta-db-rw.photos.svc');
    expect(sts.spec?.template.spec?.containers[0]?.command).to.deep.equal([
      'sh',
      '/scripts/postgres-replica.sh',
    ]);
    expect(renderDatabaseRoService(plan(a))?.spec?.selector?.['app.kubernetes.io/component']).to.equal(
      'database-replica',
    );
    expect(renderDatabaseReplicaPdb(plan(a))?.spec?.maxUnavailable).to.equal(1);
    expect(renderDatabaseReplicaPdb(plan(app({ users: 10, database: { readReplicas: 1 } })))).to.equal(null);
    expect(renderApiConfigMap(plan(a)).data?.GRAMINSTA_DB_REPLICA_HOSTS).to.equal(
      'graminsta-db-ro.photos.svc:5432',
    );
  });

  it('keeps a replica out of the -ro Service past the lag bound (30 s unless the spec sets one); the primary stays on pg_isready', () => {
    const replicaOf = (db: object) =>
      renderDatabaseReplicaStatefulSet(resolved(app({ users: 10, database: { readReplicas: 2, ...db } }), ctx()))!.spec!.template.spec!.containers[0]!;
    const replica = replicaOf({});
    expect(replica.readinessProbe?.exec?.command).to.deep.equal(['sh', '/scripts/postgres-replica-ready.sh']);
    expect(replica.readinessProbe?.timeoutSeconds).to.be.greaterThan(5);
    expect(envOf(replica).POSTGRES_MAX_REPLICA_LAG_SECONDS).to.equal('30');
    expect(envOf(replicaOf({ maxReplicaLagSeconds: 5 })).POSTGRES_MAX_REPLICA_LAG_SECONDS).to.equal('5');
    const primary = renderDatabaseStatefulSet(resolved(app({ users: 10, database: { readReplicas: 2 } }), ctx()))!.spec!.template.spec!.containers[0]!;
    expect(primary.readinessProbe?.exec?.command?.[0]).to.equal('pg_isready');
    expect(envOf(primary)).to.not.have.property('POSTGRES_MAX_REPLICA_LAG_SECONDS');
  });

  it('lists the slots of the replicas that exist in the scripts ConfigMap, which the primary reads to drop the others', () => {
    const slots = (replicas: number) => renderScriptsConfigMap(plan(app({ users: 10, database: { readReplicas: replicas } })))!.data!['replica-slots'];
    expect(slots(3)).to.equal('graminsta_db_replica_0\ngraminsta_db_replica_1\ngraminsta_db_replica_2\n');
    expect(slots(1)).to.equal('graminsta_db_replica_0\n');
    // Back at one machine the primary still runs the script, and drops every replica slot.
    expect(renderScriptsConfigMap(plan(app({ users: 1 })))!.data!['replica-slots']).to.equal('');
    const primary = renderDatabaseStatefulSet(resolved(app({ users: 10, database: { readReplicas: 3 } }), ctx()))!.spec!.template.spec!.containers[0]!;
    expect(envOf(primary)).to.include({ POSTGRES_REPLICA_SLOT_PREFIX: 'graminsta_db_replica_', POSTGRES_REPLICA_SLOTS_PATH: '/scripts/replica-slots' });
    expect(replicationSlotOf('my.app-db-replica-12')).to.equal('my_app_db_replica_12');
  });

  it('gives Postgres a memory-backed /dev/shm and keeps the primary and its replicas on different nodes where it can', () => {
    const a = resolved(app({ users: 10, database: { readReplicas: 2 } }), ctx());
    for (const [sts, avoid] of [
      [renderDatabaseStatefulSet(a)!, 'database-replica'],
      [renderDatabaseReplicaStatefulSet(a)!, 'database'],
    ] as const) {
      const pod = sts.spec!.template.spec!;
      expect(pod.volumes?.find((v) => v.name === 'shm')?.emptyDir?.medium, sts.metadata?.name).to.equal('Memory');
      expect(pod.containers[0]!.volumeMounts?.find((m) => m.name === 'shm')?.mountPath).to.equal('/dev/shm');
      const terms = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      expect(terms.map((t) => t.podAffinityTerm.labelSelector?.matchLabels?.['app.kubernetes.io/component'])).to.deep.equal([avoid]);
      expect(pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution, 'never required: one node must do').to.equal(undefined);
    }
    // Adding replicas must not restart the primary: its pod template is the same with and without them.
    const without = renderDatabaseStatefulSet(resolved(app({ users: 10 }), ctx()))!.spec!.template.spec!;
    expect(without.affinity).to.deep.equal(renderDatabaseStatefulSet(a)!.spec!.template.spec!.affinity);
  });

  it('with an external database renders no Postgres and reads the connection from the Secret keys', () => {
    const a = app({ users: 100000, database: { external: { secretName: 'rds' } } });
    const objects = render(a, ctx());
    const names = objects.map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(names.filter((n) => n.includes('-db'))).to.deep.equal([]);
    const api = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata?.name === 'graminsta-api',
    ) as V1Deployment;
    const env = envOf(api.spec?.template.spec?.containers[0]);
    expect(env).to.include({
      GRAMINSTA_DB_HOST: 'secret:rds/host',
      GRAMINSTA_DB_PORT: 'secret:rds/port?',
      GRAMINSTA_DB_NAME: 'secret:rds/database?',
      GRAMINSTA_DB_USER: 'secret:rds/user?',
      GRAMINSTA_DB_PASSWORD_FILE: '/etc/graminsta/secrets/rds/password',
      GRAMINSTA_DB_SSLMODE: 'secret:rds/sslmode?',
      GRAMINSTA_DB_REPLICA_HOSTS: 'secret:rds/replicaHosts?',
    });
    expect(renderApiConfigMap(plan(a)).data).to.not.have.property('GRAMINSTA_DB_HOST');
    expect(envOf(renderMigrateJob(resolved(a, ctx()))?.spec?.template.spec?.containers[0]).GRAMINSTA_DB_HOST).to.equal(
      'secret:rds/host',
    );
  });

  it('puts Postgres as a sidecar, then migrations, then the API into the single-machine pod', () => {
    const objects = render(app({ users: 1 }), ctx());
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`)).to.deep.equal([
      'Secret/graminsta-db',
      'Secret/graminsta-db-ca',
      'Secret/graminsta-db-tls',
      'Secret/graminsta-origin',
      'Secret/graminsta-token',
      'ConfigMap/graminsta-api-config',
      'ConfigMap/graminsta-scripts',
      'Service/graminsta-api',
      'Service/graminsta-db-headless',
      'StatefulSet/graminsta-db',
      'NetworkPolicy/graminsta-db',
    ]);
    const pod = (
      objects.find((o) => o.kind === 'StatefulSet') as {
        spec: { template: { spec: { initContainers: V1Container[]; containers: V1Container[] } } };
      }
    ).spec.template.spec;
    expect(pod.initContainers.map((c) => [c.name, c.restartPolicy])).to.deep.equal([
      ['postgres', 'Always'],
      ['migrate', undefined],
    ]);
    expect(pod.containers.map((c) => c.name)).to.deep.equal(['api']);
    expect(envOf(pod.initContainers[0]).POSTGRES_LISTEN_ADDRESSES).to.equal('*');
    expect(renderApiConfigMap(plan(app({ users: 1 }))).data).to.include({
      GRAMINSTA_DB_HOST: '127.0.0.1',
      GRAMINSTA_STORAGE: 'volume',
    });
  });
});
