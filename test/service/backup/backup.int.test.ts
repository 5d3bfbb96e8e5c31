// Backup and restore end to end on one machine: the shipped postgres-backup.sh and postgres-primary.sh against real
// Postgres processes, the service's backup and restore modes against s3rver. Set BACKUP_TEST_ROWS to size the database.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../../service/config.js';
import { createLogger } from '../../../service/log.js';
import { runBackup, runRestore } from '../../../service/app/backup.infra.js';
import { backupStore } from '../../../service/backup/backup-store.repository.js';
import { backupsIn } from '../../../service/backup/backups.js';
import { IS_ROOT } from '../../support/local-process.js';
import { s3ServiceEnv, startS3, type S3Server } from '../../support/s3.js';
import { freePort, makeTempDir, PG_BIN_DIR, runPostgresScript, runScript, waitFor, type ScriptProcess } from '../../operator/render/scripts/script-process.js';

use(chaiAsPromised);

const OS_USER = 'postgres';
const APP = { user: 'graminsta', password: 'app:pass\\word', database: 'graminsta' };
const ROWS = Number(process.env.BACKUP_TEST_ROWS ?? 200_000);
const PREFIX = 'apps/graminsta';
const log = createLogger('error');

describe('database backup to S3 and restore into a new database (real Postgres, s3rver)', function () {
  this.timeout(600_000);
  let root: string;
  let s3: S3Server;
  const running: ScriptProcess[] = [];

  /** Gives directories (not what is in them) to the postgres user, as a volume is the database container's. */
  function chownToPostgres(...dirs: string[]): void {
    if (IS_ROOT) execFileSync('chown', [`${OS_USER}:${OS_USER}`, ...dirs]);
  }

  async function query<T extends pg.QueryResultRow>(port: number, sql: string): Promise<T[]> {
    const client = new pg.Client({ host: '127.0.0.1', port, database: APP.database, user: APP.user, password: APP.password, connectionTimeoutMillis: 2000 });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  /** A primary started by postgres-primary.sh on a volume directory `name` (empty: a new cluster). */
  async function startPrimary(name: string, extraEnv: Record<string, string> = {}): Promise<{ port: number; proc: ScriptProcess; volume: string }> {
    const dir = path.join(root, name);
    await fs.mkdir(path.join(dir, 'volume'), { recursive: true });
    chownToPostgres(dir, path.join(dir, 'volume'));
    const port = await freePort();
    const proc = await runPostgresScript('postgres-primary.sh', dir, port, {
      POSTGRES_APP_PASSWORD: APP.password,
      POSTGRES_REPLICATION_PASSWORD: 'repl',
      POSTGRES_ALLOWED_CIDRS: '127.0.0.1/32',
      ...extraEnv,
    });
    running.push(proc);
    const exitedEarly = proc.exited.then((code) => code);
    await waitFor(`the primary ${name}\n${proc.output()}`, async () => {
      const ended = await Promise.race([exitedEarly, new Promise((r) => setTimeout(() => r(null), 10))]);
      if (ended !== null) throw new Error(`postgres-primary.sh ${name} exited with ${String(ended)}:\n${proc.output()}`);
      return query(port, 'SELECT 1 AS ok').then((r) => r[0]?.ok === 1, () => false);
    }, 300_000, 200);
    return { port, proc, volume: path.join(dir, 'volume') };
  }

  function serviceEnv(extra: Record<string, string>): Record<string, string> {
    return {
      ...s3ServiceEnv(s3),
      GRAMINSTA_BACKUP_PREFIX: PREFIX,
      GRAMINSTA_DB_NAME: APP.database,
      ...extra,
    };
  }

  /** One backup as the CronJob's pod runs it: postgres-backup.sh into the pipe, the service's backup mode out of it. */
  async function backup(port: number, extra: Record<string, string> = {}, dbHost = '127.0.0.1') {
    const dir = await makeTempDir('graminsta-backup-pod-', OS_USER);
    const termination = path.join(dir, 'termination-log');
    try {
      const dump = await runScript({
        script: 'postgres-backup.sh',
        dir,
        user: OS_USER,
        env: {
          POSTGRES_BIN_DIR: PG_BIN_DIR,
          POSTGRES_HOST: dbHost,
          POSTGRES_PORT: String(port),
          POSTGRES_APP_PASSWORD: APP.password,
          POSTGRES_BACKUP_DIR: dir,
          POSTGRES_WAIT_TIMEOUT_SECONDS: '2',
          TMPDIR: dir,
        },
      });
      running.push(dump);
      const cfg = loadConfig(serviceEnv({ GRAMINSTA_MODE: 'backup', GRAMINSTA_BACKUP_DIR: dir, GRAMINSTA_TERMINATION_MESSAGE_PATH: termination, ...extra }));
      const outcome = await runBackup(cfg, log, { pipeMs: 30_000, statusMs: 30_000 }).then(
        (r) => ({ ok: true as const, result: r }),
        (err: unknown) => ({ ok: false as const, err: err as Error }),
      );
      const dumpExit = await dump.exited;
      const message = await fs.readFile(termination, 'utf8').catch(() => '');
      return { outcome, dumpExit, message, dumpOutput: dump.output() };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** The restore init step on a new volume, then postgres-primary.sh loading what it fetched. */
  async function restoreInto(name: string, wanted: string, extra: Record<string, string> = {}) {
    const volume = path.join(root, name, 'volume');
    await fs.mkdir(volume, { recursive: true });
    const termination = path.join(root, name, 'termination-log');
    const cfg = loadConfig(
      serviceEnv({
        GRAMINSTA_MODE: 'restore',
        GRAMINSTA_RESTORE_BACKUP: wanted,
        GRAMINSTA_RESTORE_PGDATA: path.join(volume, 'pgdata'),
        GRAMINSTA_RESTORE_DIR: path.join(volume, 'restore'),
        GRAMINSTA_TERMINATION_MESSAGE_PATH: termination,
        ...extra,
      }),
    );
    const result = await runRestore(cfg, log);
    return { result, message: await fs.readFile(termination, 'utf8'), volume };
  }

  async function snapshot(port: number): Promise<{ rows: number; digest: string }> {
    const [row] = await query<{ rows: string; digest: string }>(port, `SELECT count(*) AS rows, md5(string_agg(id || ':' || body || ':' || created_at, ',' ORDER BY id)) AS digest FROM notes`);
    return { rows: Number(row!.rows), digest: row!.digest };
  }

  async function listed(): Promise<{ complete: string[]; incomplete: string[] }> {
    const store = backupStore({ bucket: s3.bucket, prefix: PREFIX, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    return backupsIn({ bucket: s3.bucket, prefix: PREFIX }, await store.list());
  }

  /** Waits for the next second, so that two backups get two names. */
  async function nextSecond(): Promise<void> {
    await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
  }

  let source: { port: number };
  let first: { name: string; snap: { rows: number; digest: string } };
  let second: { name: string; snap: { rows: number; digest: string } };

  before(async () => {
    root = await makeTempDir('graminsta-backup-', OS_USER);
    s3 = await startS3('backups');
    source = await startPrimary('source');
    await query(source.port, `CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL, created_at timestamptz NOT NULL)`);
    await query(source.port, `INSERT INTO notes SELECT g, md5(random()::text) || md5(random()::text) || repeat(md5(g::text), 4), timestamptz '2026-01-01' + g * interval '1 second' FROM generate_series(1, ${ROWS}) g`);
  });

  after(async () => {
    for (const proc of running.reverse()) await proc.stop();
    await s3?.stop();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it(`backs up a database of ${ROWS} rows, streamed to the bucket, with a manifest`, async () => {
    const size = (await query<{ size: string }>(source.port, `SELECT pg_database_size(current_database()) AS size`))[0]!.size;
    const started = Date.now();
    const b = await backup(source.port);
    const seconds = (Date.now() - started) / 1000;
    expect(b.outcome.ok, `${!b.outcome.ok ? b.outcome.err.message : ''}\n${b.dumpOutput}`).to.equal(true);
    expect(b.dumpExit).to.equal(0);
    if (!b.outcome.ok) return;
    console.log(`      backup: database ${(Number(size) / 2 ** 20).toFixed(1)} MiB (${ROWS} rows) -> dump ${(b.outcome.result.size / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)} s`);
    expect(b.message).to.match(/^BackupSucceeded: backup \d{8}T\d{6}Z/);
    expect((await listed()).complete).to.deep.equal([b.outcome.result.name]);
    first = { name: b.outcome.result.name, snap: await snapshot(source.port) };
    expect(first.snap.rows).to.equal(ROWS);
  });

  it('restores "latest" into a new, empty database: the data is identical', async () => {
    await query(source.port, `INSERT INTO notes VALUES (${ROWS + 1}, 'after the first backup', now())`);
    await nextSecond();
    const b = await backup(source.port);
    expect(b.outcome.ok, b.outcome.ok ? '' : b.outcome.err.message).to.equal(true);
    if (!b.outcome.ok) return;
    second = { name: b.outcome.result.name, snap: await snapshot(source.port) };

    const started = Date.now();
    const r = await restoreInto('latest', 'latest');
    expect(r.result).to.include({ outcome: 'fetched', name: second.name });
    expect(r.message).to.match(/^Restoring: backup /);
    // The fetched files stay the fetching user's (here root): Postgres, another user, reads the dump and clears it away.
    const restored = await startPrimary('latest', { POSTGRES_RESTORE_DIR: path.join(r.volume, 'restore') });
    console.log(`      restore of latest (${second.snap.rows} rows): fetch + pg_restore + start in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(await snapshot(restored.port)).to.deep.equal(second.snap);
    expect(restored.proc.output()).to.contain(`restoring backup ${second.name}`);
    // The dump is gone and the volume remembers what it was restored from.
    await expect(fs.stat(path.join(r.volume, 'restore', 'restore.pgdump'))).to.be.rejected;
    expect((await fs.readFile(path.join(r.volume, 'restore', 'restored-from'), 'utf8')).trim()).to.equal(second.name);
    // The app role owns what was restored, so the migrate Job can alter it.
    const [owner] = await query<{ tableowner: string }>(restored.port, `SELECT tableowner FROM pg_tables WHERE tablename = 'notes'`);
    expect(owner!.tableowner).to.equal(APP.user);

    // The restore step on this volume again (the pod restarted): the database exists and is left alone.
    const again = await restoreInto('latest', 'latest');
    expect(again.result).to.deep.equal({ outcome: 'restored-before', name: second.name });
    expect(again.message).to.match(/^Restored: backup /);
  });

  it('restores a named backup: the data is that of the time of the backup', async () => {
    const r = await restoreInto('named', first.name);
    expect(r.result).to.include({ outcome: 'fetched', name: first.name });
    const restored = await startPrimary('named', { POSTGRES_RESTORE_DIR: path.join(r.volume, 'restore') });
    expect(await snapshot(restored.port)).to.deep.equal(first.snap);
  });

  it('never overwrites a database that exists on the volume, and says so', async () => {
    const r = await restoreInto('source', 'latest');
    expect(r.result).to.deep.equal({ outcome: 'database-exists' });
    expect(r.message).to.match(/^DatabaseExists: .*never overwrites/);
  });

  it('names a backup that is not in the bucket', async () => {
    await expect(restoreInto('missing', '20200101T000000Z')).to.be.rejectedWith(/backup 20200101T000000Z is not in s3:\/\/backups\/apps\/graminsta/);
    const message = await fs.readFile(path.join(root, 'missing', 'termination-log'), 'utf8');
    expect(message).to.match(/^BackupNotFound: /);
  });

  it('keeps the newest backups by count after a successful backup, deleting the older ones', async () => {
    await nextSecond();
    const b = await backup(source.port, { GRAMINSTA_BACKUP_RETENTION_COUNT: '2' });
    expect(b.outcome.ok).to.equal(true);
    if (!b.outcome.ok) return;
    expect(b.outcome.result.deleted).to.deep.equal([first.name]);
    expect((await listed()).complete).to.deep.equal([second.name, b.outcome.result.name]);
  });

  it('fails without storing a backup when pg_dump fails (the database does not answer)', async () => {
    const before = await listed();
    const closed = await freePort();
    const b = await backup(closed);
    expect(b.outcome.ok).to.equal(false);
    expect(b.dumpExit).to.equal(1);
    expect(b.message).to.match(/^DumpFailed: pg_dump exited with status 1: the database at 127\.0\.0\.1:\d+ did not answer/);
    const after = await listed();
    expect(after.complete).to.deep.equal(before.complete);
  });

  it('gives a clear error for credentials the bucket refuses', async () => {
    const b = await backup(source.port, { AWS_ACCESS_KEY_ID: 'NOT-A-KEY', AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    expect(b.outcome.ok).to.equal(false);
    expect(b.message).to.match(/^CredentialsRejected: .*refused the credentials/);
  });

  it('gives a clear error for missing credentials', async () => {
    const saved = process.env.AWS_EC2_METADATA_DISABLED;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    try {
      await expect(restoreInto('nocreds', 'latest', { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' })).to.be.rejected;
      const message = await fs.readFile(path.join(root, 'nocreds', 'termination-log'), 'utf8');
      expect(message).to.match(/^CredentialsMissing: /);
    } finally {
      if (saved === undefined) delete process.env.AWS_EC2_METADATA_DISABLED;
      else process.env.AWS_EC2_METADATA_DISABLED = saved;
    }
  });

  it('gives a clear error for a bucket that cannot be reached or does not exist', async () => {
    const closed = await freePort();
    await expect(restoreInto('unreachable', 'latest', { GRAMINSTA_S3_ENDPOINT: `http://127.0.0.1:${closed}` })).to.be.rejected;
    expect(await fs.readFile(path.join(root, 'unreachable', 'termination-log'), 'utf8')).to.match(/^BucketUnreachable: .*cannot reach s3:\/\/backups\/apps\/graminsta at http:\/\/127\.0\.0\.1:\d+/);
    await expect(restoreInto('nobucket', 'latest', { GRAMINSTA_S3_BUCKET: 'no-such-bucket' })).to.be.rejected;
    expect(await fs.readFile(path.join(root, 'nobucket', 'termination-log'), 'utf8')).to.match(/^BucketUnreachable: .*does not exist/);
  });
});
