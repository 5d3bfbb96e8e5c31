import { expect } from 'chai';
import type { V1Container, V1CronJob, V1StatefulSet } from '@kubernetes/client-node';
import type { GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import { renderBackupCronJob } from '../../../operator/render/backup.render.js';
import { renderDatabaseNetworkPolicy } from '../../../operator/render/network-policy.render.js';
import { app, plan, render } from './helpers.js';
import { restrictedViolations } from './pod-security.js';

const BUCKET = { bucket: 'backups', endpoint: 'http://minio.storage:9000', credentialsSecret: 'backup-s3', prefix: 'graminsta/photos' };
const BACKUP = { schedule: '0 3 * * *', retention: { count: 7 }, destination: { s3: BUCKET } };

function spec(database: GraminstaAppSpec['database'], users = 10): GraminstaAppSpec {
  return { users, database };
}

function envOf(c: V1Container | undefined): Record<string, string> {
  return Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? `secret:${e.valueFrom?.secretKeyRef?.name}/${e.valueFrom?.secretKeyRef?.key}`]));
}

function cronJob(database: GraminstaAppSpec['database'], users = 10): V1CronJob | undefined {
  return render(app(spec(database, users))).find((o) => o.kind === 'CronJob') as V1CronJob | undefined;
}

describe('backup.render', () => {
  it('renders no CronJob without spec.database.backup', () => {
    expect(cronJob({})).to.equal(undefined);
    expect(renderBackupCronJob(plan(app(spec({}))))).to.equal(null);
  });

  it('renders the backup CronJob: the schedule in UTC, one run at a time, each try a fresh pod', () => {
    const cj = cronJob({ backup: BACKUP })!;
    expect(cj.metadata?.name).to.equal('graminsta-backup');
    expect(cj.metadata?.labels?.['app.kubernetes.io/component']).to.equal('backup');
    expect(cj.spec).to.include({ schedule: '0 3 * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid', suspend: false });
    const job = cj.spec!.jobTemplate.spec!;
    expect(job.template.spec!.restartPolicy).to.equal('Never');
    expect(job.activeDeadlineSeconds).to.be.a('number');
    expect(job.ttlSecondsAfterFinished).to.be.a('number');
    expect(cj.spec!.jobTemplate.metadata?.labels?.['app.kubernetes.io/component']).to.equal('backup');
  });

  it('dumps with the Postgres image into a pipe the service streams to the bucket, the password from a file', () => {
    const pod = cronJob({ backup: BACKUP })!.spec!.jobTemplate.spec!.template.spec!;
    const [dump, upload] = pod.containers;
    expect(dump!.name).to.equal('dump');
    expect(dump!.command).to.deep.equal(['sh', '/scripts/postgres-backup.sh']);
    const dumpEnv = envOf(dump);
    expect(dumpEnv).to.include({ POSTGRES_HOST: 'graminsta-db-rw.photos.svc', POSTGRES_BACKUP_DIR: '/backup', POSTGRES_APP_PASSWORD_FILE: '/etc/graminsta/secrets/graminsta-db/password' });
    expect(upload!.name).to.equal('upload');
    expect(upload!.image).to.equal('registry.example/graminsta:test');
    expect(envOf(upload)).to.include({
      GRAMINSTA_MODE: 'backup',
      GRAMINSTA_STORAGE: 's3',
      GRAMINSTA_S3_BUCKET: 'backups',
      GRAMINSTA_S3_REGION: 'us-east-1',
      GRAMINSTA_S3_ENDPOINT: 'http://minio.storage:9000',
      GRAMINSTA_S3_FORCE_PATH_STYLE: 'true',
      GRAMINSTA_BACKUP_PREFIX: 'graminsta/photos',
      GRAMINSTA_BACKUP_RETENTION_COUNT: '7',
      GRAMINSTA_BACKUP_DIR: '/backup',
      AWS_ACCESS_KEY_ID_FILE: '/etc/graminsta/secrets/backup-s3/AWS_ACCESS_KEY_ID',
      AWS_SECRET_ACCESS_KEY_FILE: '/etc/graminsta/secrets/backup-s3/AWS_SECRET_ACCESS_KEY',
    });
    // Both containers share the pipe's directory.
    for (const c of [dump!, upload!]) expect(c.volumeMounts?.map((m) => m.mountPath)).to.include('/backup');
    expect(restrictedViolations(pod)).to.deep.equal([]);
  });

  it('keeps backups by days when retention says days, and ships postgres-backup.sh only with backups', () => {
    const objects = render(app(spec({ backup: { ...BACKUP, retention: { days: 14 } } })));
    const upload = (objects.find((o) => o.kind === 'CronJob') as V1CronJob).spec!.jobTemplate.spec!.template.spec!.containers[1];
    expect(envOf(upload)).to.include({ GRAMINSTA_BACKUP_RETENTION_DAYS: '14' });
    expect(envOf(upload)).not.to.have.property('GRAMINSTA_BACKUP_RETENTION_COUNT');
    const scripts = (o: typeof objects) => Object.keys((o.find((x) => x.kind === 'ConfigMap' && x.metadata?.name === 'graminsta-scripts') as { data: Record<string, string> }).data);
    expect(scripts(objects)).to.include('postgres-backup.sh');
    expect(scripts(render(app(spec({}))))).not.to.include('postgres-backup.sh');
  });

  it('dumps the single-machine pod through its headless Service', () => {
    const cj = cronJob({ backup: BACKUP }, 1)!;
    expect(envOf(cj.spec!.jobTemplate.spec!.template.spec!.containers[0])).to.include({ POSTGRES_HOST: 'graminsta-db-headless.photos.svc' });
  });

  it('lets the backup pods reach Postgres only when the app has backups', () => {
    const components = (database: GraminstaAppSpec['database']) =>
      JSON.stringify(renderDatabaseNetworkPolicy(plan(app(spec(database))))!.spec!.ingress);
    expect(components({ backup: BACKUP })).to.contain('"backup"');
    expect(components({})).not.to.contain('"backup"');
  });

  it('restores before Postgres starts: the restore init container first, POSTGRES_RESTORE_DIR on the primary', () => {
    for (const users of [1, 10]) {
      const sts = render(app(spec({ restoreFrom: { s3: BUCKET, backup: '20261202T031500Z' } }, users))).find((o) => o.kind === 'StatefulSet' && o.metadata?.name === 'graminsta-db') as V1StatefulSet;
      const pod = sts.spec!.template.spec!;
      const restore = pod.initContainers![0]!;
      expect(restore.name, `users ${users}`).to.equal('restore');
      expect(envOf(restore)).to.include({ GRAMINSTA_MODE: 'restore', GRAMINSTA_RESTORE_BACKUP: '20261202T031500Z', GRAMINSTA_RESTORE_PGDATA: '/var/lib/postgresql/data/pgdata', GRAMINSTA_RESTORE_DIR: '/var/lib/postgresql/data/restore', GRAMINSTA_BACKUP_PREFIX: 'graminsta/photos' });
      expect(restore.volumeMounts?.find((m) => m.name === 'data')?.mountPath).to.equal('/var/lib/postgresql/data');
      const postgres = [...pod.containers, ...pod.initContainers!].find((c) => c.name === 'postgres');
      expect(envOf(postgres)).to.include({ POSTGRES_RESTORE_DIR: '/var/lib/postgresql/data/restore' });
      expect(restrictedViolations(pod)).to.deep.equal([]);
    }
  });

  it('restores latest when restoreFrom names no backup, and changes nothing without restoreFrom', () => {
    const sts = (database: GraminstaAppSpec['database']) => render(app(spec(database))).find((o) => o.kind === 'StatefulSet' && o.metadata?.name === 'graminsta-db') as V1StatefulSet;
    expect(envOf(sts({ restoreFrom: { s3: { bucket: 'backups' } } }).spec!.template.spec!.initContainers![0])).to.include({ GRAMINSTA_RESTORE_BACKUP: 'latest', GRAMINSTA_BACKUP_PREFIX: '' });
    const plain = sts({}).spec!.template.spec!;
    expect(plain.initContainers ?? []).to.deep.equal([]);
    expect(envOf(plain.containers[0])).not.to.have.property('POSTGRES_RESTORE_DIR');
  });

  it('refuses backups and restores with an external database, naming the field', () => {
    expect(() => plan(app({ database: { external: { secretName: 'rds' }, backup: BACKUP } }))).to.throw(/spec\.database\.backup: not possible with spec\.database\.external/);
    expect(() => plan(app({ database: { external: { secretName: 'rds' }, restoreFrom: { s3: BUCKET } } }))).to.throw(/spec\.database\.restoreFrom: not possible with spec\.database\.external/);
  });
});
