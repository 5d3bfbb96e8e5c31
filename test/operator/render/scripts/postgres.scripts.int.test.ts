import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { execFileSync } from 'node:child_process';
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

/** Who logs in, with which password, and whether as a replication (walsender) connection. */
interface Login {
  user: string;
  password: string;
  database?: string;
  replication?: boolean;
}

/** Opens a TCP connection to 127.0.0.1:`port` as `login`; the caller ends it. */
async function connect(port: number, login: Login): Promise<pg.Client> {
  const config: pg.ClientConfig & { replication?: string } = {
    host: '127.0.0.1',
    port,
    user: login.user,
    password: login.password,
    database: login.database ?? 'postgres',
    connectionTimeoutMillis: 2000,
    ...(login.replication ? { replication: 'database' } : {}),
  };
  const client = new pg.Client(config);
  // A fast shutdown ends idle sessions; that error is expected where these are used.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Runs one statement as `login` (IDENTIFY_SYSTEM and the like on a replication connection). */
async function queryAs<T extends pg.QueryResultRow>(port: number, login: Login, sql: string): Promise<T[]> {
  const client = await connect(port, login);
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The "Database cluster state" pg_controldata reports for a data directory (e.g. "shut down"). */
function clusterState(pgdata: string): string {
  const out = execFileSync(path.join(BIN_DIR, 'pg_controldata'), [pgdata], { encoding: 'utf8', env: { LC_ALL: 'C' } });
  return /^Database cluster state:\s+(.+)$/m.exec(out)?.[1] ?? out;
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
      // The metrics sidecar logs in as the app role and reads other sessions' states and the standbys' lag.
      const [monitor] = await query<{ member: boolean }>(primaryPort, `SELECT pg_has_role('graminsta', 'pg_monitor', 'MEMBER') AS member`, 'superuser');
      expect(monitor).to.deep.equal({ member: true });
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

  describe('restarts with changed Secrets and settings (a Secret re-created, a pod roll)', () => {
    const OLD = { app: 'app-old', replication: 'repl-old', superuser: 'su-old' };
    // Quotes, a backslash and a colon must reach ALTER ROLE and the replica's passfile unharmed.
    const NEW = { app: `app-'new"`, replication: 'repl:n\\ew', superuser: `su-'new` };
    let primaryPort: number;
    let replicaPort: number;
    let primary: ScriptProcess;
    let replica: ScriptProcess;
    const primaryData = (): string => path.join(root, 'rotating', 'volume', 'pgdata');

    function withPasswords(p: typeof OLD, extra: Record<string, string> = {}): Record<string, string> {
      return { POSTGRES_APP_PASSWORD: p.app, POSTGRES_REPLICATION_PASSWORD: p.replication, POSTGRES_SUPERUSER_PASSWORD: p.superuser, ...extra };
    }
    const app = (password: string): Login => ({ user: APP.user, password, database: APP.database });
    const replication = (password: string, user = 'replicator'): Login => ({ user, password, replication: true });
    const superuser = (password: string): Login => ({ user: 'postgres', password });

    /** Sends SIGTERM with an idle session open and returns the exit code and how long the script took to exit. */
    async function sigtermWithIdleClient(proc: ScriptProcess, port: number, login: Login): Promise<{ code: number | string; ms: number }> {
      const idle = await connect(port, login);
      try {
        const started = Date.now();
        proc.child.kill('SIGTERM');
        const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10000).unref());
        const code = await Promise.race([proc.exited, timeout]);
        return { code, ms: Date.now() - started };
      } finally {
        await idle.end().catch(() => {});
      }
    }

    async function restartPrimary(env: Record<string, string>): Promise<void> {
      await primary.stop('SIGTERM');
      primary = await startPrimary('rotating', primaryPort, env);
      await waitFor(`the restarted primary\n${primary.output()}`, async () => (await queryAs(primaryPort, superuser(env.POSTGRES_SUPERUSER_PASSWORD!), 'SELECT 1')).length === 1, 60000);
    }

    async function streamingFrom(replicaPortNow: number, caption: string, login: Login): Promise<void> {
      await queryAs(primaryPort, login, `INSERT INTO notes (caption) VALUES ('${caption}')`);
      const seen = async (): Promise<boolean> => {
        const rows = await queryAs<{ caption: string }>(replicaPortNow, login, `SELECT caption FROM notes WHERE caption = '${caption}'`).catch(() => []);
        return rows.length === 1;
      };
      await waitFor(`'${caption}' on the replica`, seen, 60000).catch((err: Error) => {
        throw new Error(`${err.message}\nthe replica's output:\n${replica.output()}`, { cause: err });
      });
    }

    before(async () => {
      primaryPort = await freePort();
      replicaPort = await freePort();
      primary = await startPrimary('rotating', primaryPort, withPasswords(OLD));
      await waitFor(`the primary\n${primary.output()}`, async () => (await queryAs(primaryPort, app(OLD.app), 'SELECT 1')).length === 1, 60000);
      await queryAs(primaryPort, app(OLD.app), 'CREATE TABLE notes (caption text NOT NULL)');
      replica = await startReplica('rotating-r0', replicaPort, primaryPort, { POSTGRES_REPLICATION_PASSWORD: OLD.replication });
      await streamingFrom(replicaPort, 'cloned', app(OLD.app));
    });

    it('SIGTERM with an idle client connected makes the primary shut down fast and exit 0; the next start needs no recovery', async () => {
      const { code, ms } = await sigtermWithIdleClient(primary, primaryPort, app(OLD.app));
      expect(code).to.equal(0);
      expect(ms).to.be.below(5000);
      expect(primary.output()).to.contain('received fast shutdown request');
      expect(clusterState(primaryData())).to.equal('shut down');

      primary = await startPrimary('rotating', primaryPort, withPasswords(OLD));
      await waitFor(`the restarted primary\n${primary.output()}`, async () => (await queryAs(primaryPort, app(OLD.app), 'SELECT 1')).length === 1, 60000);
      expect(primary.output()).not.to.contain('not properly shut down');
    });

    it('SIGTERM with an idle client connected makes the replica shut down fast and exit 0', async () => {
      const { code, ms } = await sigtermWithIdleClient(replica, replicaPort, app(OLD.app));
      expect(code).to.equal(0);
      expect(ms).to.be.below(5000);
      expect(replica.output()).to.contain('received fast shutdown request');
      expect(clusterState(path.join(root, 'rotating-r0', 'volume', 'pgdata'))).to.equal('shut down in recovery');
    });

    it('a restart with new passwords makes them the only ones that work, over TCP, for the app, replication and the superuser', async () => {
      await restartPrimary(withPasswords(NEW));
      expect(await queryAs(primaryPort, app(NEW.app), 'SELECT 1 AS ok')).to.deep.equal([{ ok: 1 }]);
      expect(await queryAs(primaryPort, replication(NEW.replication), 'IDENTIFY_SYSTEM')).to.have.length(1);
      await expect(queryAs(primaryPort, app(OLD.app), 'SELECT 1')).to.be.rejectedWith(/password authentication failed/);
      await expect(queryAs(primaryPort, replication(OLD.replication), 'IDENTIFY_SYSTEM')).to.be.rejectedWith(/password authentication failed/);
      await expect(queryAs(primaryPort, superuser(OLD.superuser), 'SELECT 1')).to.be.rejectedWith(/password authentication failed/);
      for (const secret of [...Object.values(OLD), ...Object.values(NEW)]) expect(primary.output()).not.to.contain(secret);
    });

    it('a replica restarted with the new replication password streams again', async () => {
      replica = await startReplica('rotating-r0', replicaPort, primaryPort, { POSTGRES_REPLICATION_PASSWORD: NEW.replication });
      await streamingFrom(replicaPort, 'after the new password', app(NEW.app));
      const senders = await queryAs<{ state: string }>(primaryPort, superuser(NEW.superuser), 'SELECT state FROM pg_stat_replication');
      expect(senders).to.deep.equal([{ state: 'streaming' }]);
    });

    it('raising POSTGRES_MAX_WAL_SENDERS takes effect on restart, lowering it does not, and a replica restarted with it follows', async () => {
      const limits = async (): Promise<Record<string, string>> => {
        const rows = await queryAs<{ name: string; setting: string }>(
          primaryPort,
          superuser(NEW.superuser),
          `SELECT name, setting FROM pg_settings WHERE name IN ('max_wal_senders', 'max_replication_slots')`,
        );
        return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
      };
      await restartPrimary(withPasswords(NEW, { POSTGRES_MAX_WAL_SENDERS: '14' }));
      expect(await limits()).to.deep.equal({ max_replication_slots: '14', max_wal_senders: '14' });
      await restartPrimary(withPasswords(NEW, { POSTGRES_MAX_WAL_SENDERS: '10' }));
      expect(await limits()).to.deep.equal({ max_replication_slots: '14', max_wal_senders: '14' });

      // Replaying the raise pauses the running standby until it runs with at least the primary's
      // max_wal_senders; the operator passes the primary's value to the replicas too, so they roll.
      await replica.stop('SIGTERM');
      replica = await startReplica('rotating-r0', replicaPort, primaryPort, { POSTGRES_REPLICATION_PASSWORD: NEW.replication, POSTGRES_MAX_WAL_SENDERS: '14' });
      await streamingFrom(replicaPort, 'after the replica restarted', app(NEW.app));
    });

    it('POSTGRES_MAX_SLOT_WAL_KEEP_SIZE takes effect on restart, both ways (it follows the volume size)', async () => {
      const keep = async () =>
        (await queryAs<{ setting: string }>(primaryPort, superuser(NEW.superuser), `SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size'`))[0]!.setting;
      await restartPrimary(withPasswords(NEW, { POSTGRES_MAX_WAL_SENDERS: '14', POSTGRES_MAX_SLOT_WAL_KEEP_SIZE: '300MB' }));
      expect(await keep()).to.equal('300');
      await restartPrimary(withPasswords(NEW, { POSTGRES_MAX_WAL_SENDERS: '14', POSTGRES_MAX_SLOT_WAL_KEEP_SIZE: '1024MB' }));
      expect(await keep()).to.equal('1024');
    });

    it('a renamed replication user is created and may stream', async () => {
      await restartPrimary(withPasswords(NEW, { POSTGRES_REPLICATION_USER: 'replicator2' }));
      expect(await queryAs(primaryPort, replication(NEW.replication, 'replicator2'), 'IDENTIFY_SYSTEM')).to.have.length(1);
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
