// End to end on the real node, the whole test of issue 13's "Backups and restore": data created in an app's database,
// backed up by the operator's CronJob to an S3-compatible server (s3rver on the node's address, reachable from pods),
// the app and its volumes deleted, a new app restored from "latest" with the data there; bad credentials and an
// unreachable bucket give conditions naming the problem.
import { expect } from 'chai';
import { waitFor } from '../support/cluster.js';
import { NODE_IP } from '../support/real-node.js';
import { freePort } from '../support/local-process.js';
import { RealNodeSuite, type AppView } from '../support/real-node-suite.js';
import { startS3, type S3Server } from '../support/s3.js';
import { fitToNode, type Spec } from '../../hack/node/fit-app.js';
import { backupNameAt } from '../../service/backup/backups.js';

const ROWS = Number(process.env.BACKUP_E2E_ROWS ?? 100_000);

describe('real node: database backups to S3 and a restore into a new app', function () {
  this.timeout(1_800_000);
  const s = new RealNodeSuite().register();
  let ns: string | undefined;
  let s3: S3Server | undefined;
  const kubectl = (...args: string[]) => s.kubectl(...args);
  const app = (name: string) => s.app(name);
  const waitApp = (name: string, what: string, check: (a: AppView) => boolean, timeoutMs?: number) => s.waitApp(name, what, check, timeoutMs);
  const waitReady = (name: string, stage: string, timeoutMs?: number) => s.waitReady(name, stage, timeoutMs);
  const allRunning = () => s.allRunning();
  const applyApp = (name: string, spec: Spec) => s.applyApp(name, spec);
  const condition = (a: AppView, type: string) => a.status?.conditions?.find((c) => c.type === type);
  /** SQL in the primary's postgres container, as the superuser over the socket (peer), in the app database. */
  const psql = async (pod: string, sql: string) => (await kubectl('exec', '-n', ns!, pod, '-c', 'postgres', '--', 'psql', '-h', '/tmp', '-U', 'postgres', '-d', 'graminsta', '-v', 'ON_ERROR_STOP=1', '-tAc', sql)).trim();
  const digest = (pod: string) => psql(pod, `SELECT count(*) || ' ' || md5(string_agg(id || ':' || body, ',' ORDER BY id)) FROM e2e_notes`);
  const bucket = (extra: Record<string, string> = {}) => ({ bucket: s3!.bucket, endpoint: s3!.endpoint, region: s3!.region, credentialsSecret: 'backup-s3', prefix: 'e2e/graminsta', ...extra });
  const splitDatabase = (database: Record<string, unknown>): Spec => fitToNode({ users: 10, database } as Spec, { small: true });

  beforeEach(async () => {
    s3 = await startS3('graminsta-backups', NODE_IP);
    ns = await s.start('real-backup', 'real-node-backup-operator');
    await kubectl('create', 'secret', 'generic', 'backup-s3', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`);
  });

  afterEach(async () => {
    ns = undefined;
    await s3?.stop();
    s3 = undefined;
  });

  it('backs up on schedule, and a new app on new volumes starts from the latest backup with the data there', async () => {
    // Every minute, so the test sees a scheduled run; retention keeps three.
    await applyApp('graminsta', splitDatabase({ backup: { schedule: '* * * * *', retention: { count: 3 }, destination: { s3: bucket() } } }));
    await waitReady('graminsta', 'split-database');
    await allRunning();

    // Data owned by the app role, as the migrations' tables are (pg_dump runs as that role).
    await psql('graminsta-db-0', `SET ROLE graminsta; CREATE TABLE e2e_notes (id bigint PRIMARY KEY, body text NOT NULL); INSERT INTO e2e_notes SELECT g, md5(random()::text) || repeat(md5(g::text), 3) FROM generate_series(1, ${ROWS}) g`);
    const before = await digest('graminsta-db-0');
    const size = await psql('graminsta-db-0', `SELECT pg_size_pretty(pg_database_size('graminsta'))`);
    const createdAt = new Date();

    // A backup that started after the data was written: its name is its start time.
    const backedUp = await waitApp('graminsta', 'a backup newer than the data', (a) => {
      const ready = condition(a, 'BackupReady');
      const name = /backup (\d{8}T\d{6}Z)/.exec(ready?.message ?? '')?.[1];
      return ready?.status === 'True' && !!name && name > backupNameAt(createdAt) && !!a.status?.database?.lastBackup;
    }, 240_000);
    console.log(`      backup of ${ROWS} rows (${size}): ${condition(backedUp, 'BackupReady')!.message}; lastBackup ${backedUp.status!.database!.lastBackup}`);
    const backupJob = JSON.parse(await kubectl('get', 'jobs', '-n', ns!, '-l', 'app.kubernetes.io/component=backup', '-o', 'json')) as { items: { status?: { startTime?: string; completionTime?: string } }[] };
    const took = backupJob.items.filter((j) => j.status?.completionTime).map((j) => (Date.parse(j.status!.completionTime!) - Date.parse(j.status!.startTime!)) / 1000);
    console.log(`      backup Jobs took ${took.join(', ')} s`);

    // The app and its volumes go.
    await kubectl('delete', 'graminstaapp', 'graminsta', '-n', ns!, '--wait=true', '--timeout=180s');
    await waitFor('the app\'s pods to be gone', 180_000, async () => (await kubectl('get', 'pods', '-n', ns!, '-l', 'app.kubernetes.io/instance=graminsta', '-o', 'name')).trim() === '', 1000);
    await kubectl('delete', 'pvc', '-n', ns!, '-l', 'app.kubernetes.io/name=graminsta', '--wait=true', '--timeout=180s');
    expect((await kubectl('get', 'pvc', '-n', ns!, '-o', 'name')).trim()).to.equal('');

    // A new app of the same name on new, empty volumes, restored from the latest backup.
    const t0 = Date.now();
    await applyApp('graminsta', splitDatabase({ restoreFrom: { s3: bucket(), backup: 'latest' } }));
    const restored = await waitReady('graminsta', 'split-database', 600_000);
    console.log(`      restored app Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await waitApp('graminsta', 'Restored True', (a) => condition(a, 'Restored')?.status === 'True', 120_000);
    expect(condition(await app('graminsta'), 'Restored')!.message).to.match(/backup \d{8}T\d{6}Z from s3:\/\/graminsta-backups\/e2e\/graminsta/);
    expect(await digest('graminsta-db-0')).to.equal(before);
    expect(restored.status?.stage).to.equal('split-database');
    await allRunning();

    // Its pod restarting finds the database and never restores over it.
    await kubectl('delete', 'pod', 'graminsta-db-0', '-n', ns!, '--wait=true');
    await waitReady('graminsta', 'split-database');
    await waitApp('graminsta', 'still Restored after the restart', (a) => condition(a, 'Restored')?.reason === 'Restored', 120_000);
    expect(await digest('graminsta-db-0')).to.equal(before);
  });

  it('names the problem: a missing credentials Secret, an unreachable bucket, a backup that is not there', async () => {
    // Restore with a Secret that does not exist: the operator says which.
    await applyApp('nocreds', splitDatabase({ restoreFrom: { s3: bucket({ credentialsSecret: 'no-such-secret' }) } }));
    const nocreds = await waitApp('nocreds', 'Restored names the missing Secret', (a) => condition(a, 'Restored')?.reason === 'RestoreCredentialsInvalid');
    expect(condition(nocreds, 'Restored')!.message).to.contain(`spec.database.restoreFrom.s3.credentialsSecret: Secret ${ns}/no-such-secret does not exist`);

    // Restore of latest from an empty prefix: the init container says there is nothing to restore.
    await applyApp('nobackup', splitDatabase({ restoreFrom: { s3: bucket({ prefix: 'nothing/here' }) } }));
    const nobackup = await waitApp('nobackup', 'Restored says no backup was found', (a) => condition(a, 'Restored')?.reason === 'BackupNotFound');
    expect(condition(nobackup, 'Restored')!.message).to.contain('no complete backup in s3://graminsta-backups/nothing/here');

    // Backups to a port where nothing listens: the scheduled run fails and BackupReady says why.
    const closed = await freePort();
    await applyApp('unreachable', splitDatabase({ backup: { schedule: '* * * * *', destination: { s3: bucket({ endpoint: `http://${NODE_IP}:${closed}` }) } } }));
    const unreachable = await waitApp('unreachable', 'BackupReady names the unreachable bucket', (a) => condition(a, 'BackupReady')?.reason === 'BucketUnreachable', 420_000);
    expect(condition(unreachable, 'BackupReady')!.message).to.match(/cannot reach s3:\/\/graminsta-backups\/e2e\/graminsta at http:\/\/198\.19\.255\.1:\d+/);
    expect(unreachable.status?.database?.lastBackup).to.equal(undefined);
  });
});
