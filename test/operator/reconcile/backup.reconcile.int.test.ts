// The operator's side of spec.database.backup and restoreFrom against the real API server: the CronJob it applies and
// the conditions that name a credentials Secret that cannot work.
import { expect } from 'chai';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor } from '../../support/cluster.js';
import { applyApp, exampleApp, startOperator, waitForCondition, type RunningOperator } from '../../support/operator.js';

describe('backups and restore in the reconciler (real API server)', function () {
  this.timeout(180_000);
  let op: RunningOperator;
  let ns: string;
  const s3 = { bucket: 'backups', endpoint: 'http://minio.storage:9000', credentialsSecret: 'backup-s3', prefix: 'graminsta' };
  const message = (app: { status?: { conditions?: { type: string; message: string }[] } }, type: string) => app.status?.conditions?.find((c) => c.type === type)?.message;

  before(async () => {
    ns = await createTestNamespace('backup');
    op = await startOperator({ resyncMs: 2_000, watchNamespace: ns });
  });

  after(async () => {
    await op?.stop();
    if (ns) await deleteTestNamespace(ns);
  });

  it('applies the backup CronJob and says when its credentials Secret is missing, lacks a key, then works', async () => {
    const cluster = await getCluster();
    const name = 'backed';
    await applyApp(op.clients, ns, { ...exampleApp('stage-2-split-database.yaml', name), spec: { users: 10, database: { backup: { schedule: '0 3 * * *', retention: { count: 7 }, destination: { s3 } } } } });
    const missing = await waitForCondition(op.clients, ns, name, 'BackupReady', 'False', { reason: 'BackupCredentialsInvalid', timeoutMs: 90_000 });
    expect(message(missing, 'BackupReady')).to.equal(`spec.database.backup.destination.s3.credentialsSecret: Secret ${ns}/backup-s3 does not exist; create it with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
    const cron = JSON.parse((await cluster.kubectl(['get', 'cronjob', `${name}-backup`, '-n', ns, '-o', 'json'])).stdout) as { spec?: { schedule?: string }; metadata?: { ownerReferences?: { name: string }[] } };
    expect(cron.spec?.schedule).to.equal('0 3 * * *');
    expect(cron.metadata?.ownerReferences?.[0]?.name).to.equal(name);

    await cluster.kubectl(['create', 'secret', 'generic', 'backup-s3', '-n', ns, '--from-literal=AWS_ACCESS_KEY_ID=id']);
    await waitFor('the condition to name the missing key', 60_000, async () => {
      const app = await waitForCondition(op.clients, ns, name, 'BackupReady', 'False', { timeoutMs: 5_000 });
      return message(app, 'BackupReady') === `spec.database.backup.destination.s3.credentialsSecret: Secret ${ns}/backup-s3 lacks the key(s) AWS_SECRET_ACCESS_KEY`;
    });
    await cluster.kubectl(['patch', 'secret', 'backup-s3', '-n', ns, '-p', '{"stringData":{"AWS_SECRET_ACCESS_KEY":"secret"}}']);
    await waitForCondition(op.clients, ns, name, 'BackupReady', 'True', { reason: 'Scheduled', timeoutMs: 60_000 });
  });

  it('says when the Secret of a restore is missing', async () => {
    const name = 'restored';
    await applyApp(op.clients, ns, { ...exampleApp('stage-2-split-database.yaml', name), spec: { users: 10, database: { restoreFrom: { s3: { ...s3, credentialsSecret: 'restore-s3' } } } } });
    const app = await waitForCondition(op.clients, ns, name, 'Restored', 'False', { reason: 'RestoreCredentialsInvalid', timeoutMs: 90_000 });
    expect(message(app, 'Restored')).to.contain(`spec.database.restoreFrom.s3.credentialsSecret: Secret ${ns}/restore-s3 does not exist`);
    const sts = await op.clients.apps.readNamespacedStatefulSet({ namespace: ns, name: `${name}-db` });
    expect(sts.spec?.template.spec?.initContainers?.[0]?.name).to.equal('restore');
  });
});
