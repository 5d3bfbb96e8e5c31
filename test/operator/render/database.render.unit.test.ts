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
