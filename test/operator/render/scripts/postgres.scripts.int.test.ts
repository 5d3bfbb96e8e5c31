import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { freePort, makeTempDir, runScript, waitFor, type ScriptProcess, type ShippedScript } from './script-process.js';

use(chaiAsPromised);

const BIN_DIR = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';
const APP = { user: 'graminsta', password: 'app-secret', database: 'graminsta' };
const SUPERUSER_PASSWORD = 'su-secret';
// ':' and '\' must survive the passfile escaping.
const REPLICATION_PASSWORD = 'repl:se\\cret';

async function query<T extends pg.QueryResultRow>(port: number, sql: string, as: 'app' | 'superuser' = 'app'): Promise<T[]> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    database: as === 'app' ? APP.database : 'postgres',
    user: as === 'app' ? APP.user : 'postgres',
    password: as === 'app' ? APP.password : SUPERUSER_PASSWORD,
    connectionTimeoutMillis: 2000,
  });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('postgres data-tier scripts against real postgres processes', function () {
  this.timeout(180000);
  let root: string;
  const running: ScriptProcess[] = [];

  async function startPrimary(name: string, port: number, extraEnv: Record<string, string> = {}): Promise<ScriptProcess> {
    return await startServer('postgres-primary.sh', name, port, {
      POSTGRES_APP_PASSWORD: APP.password,
      POSTGRES_REPLICATION_PASSWORD: REPLICATION_PASSWORD,
      POSTGRES_SUPERUSER_PASSWORD: SUPERUSER_PASSWORD,
      POSTGRES_ALLOWED_CIDRS: '127.0.0.1/32',
      ...extraEnv,
    });
  }

  async function startReplica(name: string, port: number, primaryPort: number, extraEnv: Record<string, string> = {}): Promise<ScriptProcess> {
    return await startServer('postgres-replica.sh', name, port, {
      POSTGRES_PRIMARY_HOST: '127.0.0.1',
      POSTGRES_PRIMARY_PORT: String(primaryPort),
      POSTGRES_REPLICATION_PASSWORD: REPLICATION_PASSWORD,
      POSTGRES_WAIT_MAX_DELAY_SECONDS: '2',
      HOSTNAME: `graminsta-db-ro-${name}`,
      ...extraEnv,
    });
  }

  /** Runs a Postgres script as OS_USER in its own directory under root, serving on 127.0.0.1:`port`. */
  async function startServer(script: ShippedScript, name: string, port: number, env: Record<string, string>): Promise<ScriptProcess> {
    const dir = path.join(root, name);
    await fs.mkdir(dir, { recursive: true });
    await fs.chown(dir, ...(await ownerOf(root)));
    const proc = await runScript({
      script,
      dir,
      user: OS_USER,
      env: {
        POSTGRES_BIN_DIR: BIN_DIR,
        PGDATA: path.join(dir, 'volume', 'pgdata'),
        POSTGRES_PORT: String(port),
        POSTGRES_LISTEN_ADDRESSES: '127.0.0.1',
        POSTGRES_SOCKET_DIR: dir,
        ...env,
      },
      args: ['-c', 'fsync=off'],
    });
    running.push(proc);
    return proc;
  }

  async function ownerOf(dir: string): Promise<[number, number]> {
    const st = await fs.stat(dir);
    return [st.uid, st.gid];
  }

  async function waitUntilServing(port: number, proc: ScriptProcess, what: string): Promise<void> {
    await waitFor(`${what} on port ${port}\n${proc.output()}`, async () => (await query(port, 'SELECT 1 AS ok'))[0]?.ok === 1, 60000);
  }

  before(async () => {
    root = await makeTempDir('graminsta-pgscripts-', OS_USER);
  });

  after(async () => {
    for (const proc of running.reverse()) await proc.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  describe('a primary and a replica bootstrapped by the scripts', () => {
    let primaryPort: number;
    let replicaPort: number;
    let primary: ScriptProcess;
    let replica: ScriptProcess;

    before(async () => {
      primaryPort = await freePort();
      replicaPort = await freePort();
    });

    it('initialises the primary with the app database, the replication role and replication settings', async () => {
      primary = await startPrimary('primary', primaryPort);
      await waitUntilServing(primaryPort, primary, 'the primary');
      expect(primary.output()).to.contain('initialising a new cluster');

      const [role] = await query<{ rolreplication: boolean; rolcanlogin: boolean }>(
        primaryPort,
        `SELECT rolreplication, rolcanlogin FROM pg_roles WHERE rolname = 'replicator'`,
        'superuser',
      );
      expect(role).to.deep.equal({ rolreplication: true, rolcanlogin: true });
      const [db] = await query<{ owner: string }>(primaryPort, `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'graminsta'`, 'superuser');
      expect(db?.owner).to.equal('graminsta');
      const settings = await query<{ name: string; setting: string }>(
        primaryPort,
        `SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', 'max_wal_senders', 'max_replication_slots', 'hot_standby', 'password_encryption') ORDER BY name`,
        'superuser',
      );
      expect(Object.fromEntries(settings.map((s) => [s.name, s.setting]))).to.deep.equal({
        hot_standby: 'on',
        max_replication_slots: '10',
        max_wal_senders: '10',
        password_encryption: 'scram-sha-256',
        wal_level: 'replica',
      });
      const hba = await query<{ database: string[]; user_name: string[]; address: string; auth_method: string }>(
        primaryPort,
        `SELECT database, user_name, address, auth_method FROM pg_hba_file_rules WHERE type = 'host' AND 'replicator' = ANY(user_name)`,
        'superuser',
      );
      expect(hba).to.deep.equal([{ database: ['replication'], user_name: ['replicator'], address: '127.0.0.1', auth_method: 'scram-sha-256' }]);
      await query(primaryPort, 'CREATE TABLE photos (id serial PRIMARY KEY, caption text NOT NULL)');
    });

    it('bootstraps a streaming replica from the primary with its own slot', async () => {
      replica = await startReplica('r0', replicaPort, primaryPort);
      await waitUntilServing(replicaPort, replica, 'the replica');
      expect(replica.output()).to.contain('cloning the primary');

      await query(primaryPort, `INSERT INTO photos (caption) VALUES ('first')`);
      await waitFor('the row on the replica', async () => (await query(replicaPort, `SELECT caption FROM photos`)).length === 1);
      const [recovery] = await query<{ standby: boolean }>(replicaPort, 'SELECT pg_is_in_recovery() AS standby');
      expect(recovery?.standby).to.equal(true);
      await expect(query(replicaPort, `INSERT INTO photos (caption) VALUES ('nope')`)).to.be.rejectedWith(/read-only transaction/);

      const senders = await query<{ application_name: string; state: string }>(primaryPort, 'SELECT application_name, state FROM pg_stat_replication', 'superuser');
      expect(senders).to.deep.equal([{ application_name: 'graminsta_db_ro_r0', state: 'streaming' }]);
      const slots = await query<{ slot_name: string; active: boolean }>(primaryPort, 'SELECT slot_name, active FROM pg_replication_slots', 'superuser');
      expect(slots).to.deep.equal([{ slot_name: 'graminsta_db_ro_r0', active: true }]);
    });

    it('keeps the replication password out of the replica data directory', async () => {
      const autoConf = await fs.readFile(path.join(root, 'r0', 'volume', 'pgdata', 'postgresql.auto.conf'), 'utf8');
      expect(autoConf).not.to.contain('password');
      expect(autoConf).not.to.contain('primary_conninfo');
    });

    it('resumes streaming after a replica restart without a new base backup, catching up on writes made while it was down', async () => {
      await replica.stop('SIGINT');
      await query(primaryPort, `INSERT INTO photos (caption) VALUES ('while the replica was down')`);
      const [slot] = await query<{ active: boolean }>(primaryPort, `SELECT active FROM pg_replication_slots WHERE slot_name = 'graminsta_db_ro_r0'`, 'superuser');
      expect(slot?.active).to.equal(false);

      replica = await startReplica('r0', replicaPort, primaryPort);
      await waitUntilServing(replicaPort, replica, 'the restarted replica');
      expect(replica.output()).to.contain('using existing data');
      expect(replica.output()).not.to.contain('cloning the primary');
      await waitFor('the rows on the restarted replica', async () => (await query(replicaPort, `SELECT caption FROM photos`)).length === 2);
      await waitFor('streaming again', async () => {
        const rows = await query<{ state: string }>(primaryPort, `SELECT state FROM pg_stat_replication WHERE application_name = 'graminsta_db_ro_r0'`, 'superuser');
        return rows[0]?.state === 'streaming';
      });
    });

    it('restarts the primary from its existing data directory without initialising again; the replica reconnects', async () => {
      await primary.stop('SIGINT');
      primary = await startPrimary('primary', primaryPort);
      await waitUntilServing(primaryPort, primary, 'the restarted primary');
      expect(primary.output()).to.contain('using existing cluster');
      expect(primary.output()).not.to.contain('initialising');
      await query(primaryPort, `INSERT INTO photos (caption) VALUES ('after the primary restarted')`);
      await waitFor('the replica reconnecting to the restarted primary', async () => (await query(replicaPort, `SELECT caption FROM photos`)).length === 3, 60000);
    });
  });

  it('a replica started before its primary waits for it, then bootstraps', async () => {
    const primaryPort = await freePort();
    const replicaPort = await freePort();
    const replica = await startReplica('early', replicaPort, primaryPort);
    await waitFor('the replica to report that it waits', () => (replica.output().match(/waiting for primary/g) ?? []).length >= 2, 20000);
    await expect(fs.stat(path.join(root, 'early', 'volume', 'pgdata'))).to.be.rejectedWith(/ENOENT/);

    const primary = await startPrimary('late-primary', primaryPort);
    await waitUntilServing(primaryPort, primary, 'the late primary');
    await waitUntilServing(replicaPort, replica, 'the early replica');
    expect(replica.output()).to.match(/primary 127\.0\.0\.1:\d+ is ready/);
    await query(primaryPort, `CREATE TABLE t (v int); INSERT INTO t VALUES (42)`);
    await waitFor('the row on the early replica', async () => (await query<{ v: number }>(replicaPort, 'SELECT v FROM t'))[0]?.v === 42);
  });

  it('a replica gives up after POSTGRES_WAIT_TIMEOUT_SECONDS when the primary never comes', async () => {
    const replica = await startReplica('never', await freePort(), await freePort(), { POSTGRES_WAIT_TIMEOUT_SECONDS: '2' });
    expect(await replica.exited).to.equal(1);
    expect(replica.output()).to.match(/not ready after \d+s; giving up/);
  });

  it('scripts name the missing or bad variable and exit 1', async () => {
    const noHost = await startReplica('nohost', await freePort(), 1, { POSTGRES_PRIMARY_HOST: '' });
    expect(await noHost.exited).to.equal(1);
    expect(noHost.output()).to.contain('POSTGRES_PRIMARY_HOST is required');

    const badSlot = await startReplica('badslot', await freePort(), 1, { POSTGRES_REPLICATION_SLOT: 'Bad-Slot' });
    expect(await badSlot.exited).to.equal(1);
    expect(badSlot.output()).to.contain('POSTGRES_REPLICATION_SLOT must be');

    const noPassword = await startPrimary('nopassword', await freePort(), { POSTGRES_APP_PASSWORD: '' });
    expect(await noPassword.exited).to.equal(1);
    expect(noPassword.output()).to.contain('POSTGRES_APP_PASSWORD is required');

    const badPort = await startPrimary('badport', await freePort(), { POSTGRES_PORT: '54x' });
    expect(await badPort.exited).to.equal(1);
    expect(badPort.output()).to.contain('POSTGRES_PORT must be');
  });
});
