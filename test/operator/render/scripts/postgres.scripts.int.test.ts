import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { asUser } from '../../../support/local-process.js';
import { freePort, makeTempDir, PG_BIN_DIR, runPostgresScript, runScript, waitFor, type ScriptProcess, type ShippedScript } from './script-process.js';

use(chaiAsPromised);

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
  const out = execFileSync(path.join(PG_BIN_DIR, 'pg_controldata'), [pgdata], { encoding: 'utf8', env: { LC_ALL: 'C' } });
  return /^Database cluster state:\s+(.+)$/m.exec(out)?.[1] ?? out;
}

/** Pids of the processes below `pid` (children, grandchildren, ...). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const visit = (p: number) => (parents.get(p) ?? []).forEach((c) => (out.push(c), visit(c)));
  visit(pid);
  return out;
}

/** A process's environment, NUL-separated entries joined by newlines ('' once it has ended). */
function readEnviron(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').join('\n');
  } catch {
    return '';
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
    const proc = await runPostgresScript(script, dir, port, env);
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

  describe('the replica readiness probe (postgres-replica-ready.sh)', () => {
    let primaryPort: number;
    let replicaPort: number;
    let primary: ScriptProcess;

    /** Runs the probe once against the replica, as its container would; resolves with its exit code and output. */
    async function probe(env: Record<string, string> = {}): Promise<{ code: number | string; out: string }> {
      const proc = await runScript({
        script: 'postgres-replica-ready.sh',
        dir: path.join(root, 'lag-r0'),
        user: OS_USER,
        env: {
          POSTGRES_BIN_DIR: PG_BIN_DIR,
          POSTGRES_PORT: String(replicaPort),
          POSTGRES_SOCKET_DIR: path.join(root, 'lag-r0'),
          POSTGRES_PRIMARY_HOST: '127.0.0.1',
          POSTGRES_PRIMARY_PORT: String(primaryPort),
          ...env,
        },
      });
      return { code: await proc.exited, out: proc.output() };
    }

    /** Superuser SQL on the replica over its unix socket (peer authentication, as the probe does). */
    function replicaSql(sql: string): string {
      const psql = [path.join(PG_BIN_DIR, 'psql'), '-X', '-A', '-t', '-q', '-h', path.join(root, 'lag-r0'), '-p', String(replicaPort), '-d', 'postgres', '-c', sql];
      const [cmd, ...args] = asUser(OS_USER, psql);
      return execFileSync(cmd!, args, { encoding: 'utf8' }).trim();
    }

    before(async () => {
      primaryPort = await freePort();
      replicaPort = await freePort();
      primary = await startPrimary('lag-primary', primaryPort);
      await waitUntilServing(primaryPort, primary, 'the primary');
      await query(primaryPort, 'CREATE TABLE likes (id serial PRIMARY KEY)');
      const replica = await startReplica('lag-r0', replicaPort, primaryPort);
      await waitUntilServing(replicaPort, replica, 'the replica');
    });

    it('is ready while the replica streams', async () => {
      await waitFor('the probe to pass', async () => (await probe()).code === 0, 30000, 500);
    });

    it('is not ready while replay is further behind than POSTGRES_MAX_REPLICA_LAG_SECONDS, and ready again once it caught up', async () => {
      replicaSql('SELECT pg_wal_replay_pause()');
      try {
        await query(primaryPort, 'INSERT INTO likes DEFAULT VALUES');
        await waitFor('WAL received but not replayed', () => replicaSql('SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()') === 't');
        await new Promise((r) => setTimeout(r, 2100));
        const behind = await probe({ POSTGRES_MAX_REPLICA_LAG_SECONDS: '1' });
        expect(behind.code, behind.out).to.equal(1);
        expect(behind.out).to.match(/replay is \d+s behind, more than POSTGRES_MAX_REPLICA_LAG_SECONDS=1/);
        // The default bound (30 s) still accepts it.
        expect((await probe()).code).to.equal(0);
      } finally {
        replicaSql('SELECT pg_wal_replay_resume()');
      }
      await waitFor('the probe to pass with a 1 s bound once replay resumed', async () => (await probe({ POSTGRES_MAX_REPLICA_LAG_SECONDS: '1' })).code === 0, 30000, 500);
    });

    it('is not ready when it no longer streams from a primary that answers (its slot dropped), and ready while the primary is down', async () => {
      // Cut the replica off the way a lost slot does: end its walsender and drop the slot before it reconnects.
      await waitFor('the slot dropped', async () => {
        await query(primaryPort, 'SELECT pg_terminate_backend(pid) FROM pg_stat_replication', 'superuser');
        try {
          await query(primaryPort, `SELECT pg_drop_replication_slot('graminsta_db_ro_lag_r0')`, 'superuser');
          return true;
        } catch {
          return false;
        }
      });
      await waitFor('the probe to fail: not streaming', async () => {
        const r = await probe();
        return r.code === 1 && /not streaming from the primary, which answers/.test(r.out);
      }, 30000, 500);
      await primary.stop('SIGINT');
      const down = await probe();
      expect(down.code, down.out).to.equal(0);
    });

    it('names a bad setting and is not ready', async () => {
      const r = await probe({ POSTGRES_MAX_REPLICA_LAG_SECONDS: '3s' });
      expect(r.code).to.equal(1);
      expect(r.out).to.contain('POSTGRES_MAX_REPLICA_LAG_SECONDS must be a non-negative integer');
    });
  });

  describe('slots of replicas that are gone', () => {
    let primaryPort: number;
    let primary: ScriptProcess;
    let slotsFile: string;
    const slotNames = async () =>
      (await query<{ slot_name: string }>(primaryPort, 'SELECT slot_name FROM pg_replication_slots ORDER BY slot_name', 'superuser')).map((r) => r.slot_name);

    before(async () => {
      primaryPort = await freePort();
      slotsFile = path.join(root, 'replica-slots');
      await fs.writeFile(slotsFile, 'graminsta_db_ro_keep\n');
      primary = await startPrimary('slots-primary', primaryPort, {
        POSTGRES_REPLICA_SLOT_PREFIX: 'graminsta_db_ro_',
        POSTGRES_REPLICA_SLOTS_PATH: slotsFile,
        POSTGRES_SLOT_CHECK_SECONDS: '1',
        POSTGRES_SLOT_DROP_AFTER_SECONDS: '2',
      });
      await waitUntilServing(primaryPort, primary, 'the primary');
    });

    it('drops an inactive slot with the replicas\' prefix that the file does not list, after the grace period; keeps listed and foreign slots', async () => {
      for (const slot of ['graminsta_db_ro_keep', 'graminsta_db_ro_gone', 'cdc_tool']) {
        await query(primaryPort, `SELECT pg_create_physical_replication_slot('${slot}', true)`, 'superuser');
      }
      // The script logs a drop only after psql returns (and log forks date), so the slot can be gone from
      // pg_replication_slots before the line is in the output: wait for both, not for the first.
      const droppedLine = /dropped replication slot graminsta_db_ro_gone: no replica of that name exists \(inactive for (\d+)s\)/;
      await waitFor('graminsta_db_ro_gone dropped and the drop logged', async () => !(await slotNames()).includes('graminsta_db_ro_gone') && droppedLine.test(primary.output()), 30000, 250);
      const dropped = droppedLine.exec(primary.output());
      expect(dropped, primary.output()).to.not.equal(null);
      expect(Number(dropped![1])).to.be.at.least(2);
      // Three more checks: the listed slot and the slot without the prefix stay.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await slotNames()).to.deep.equal(['cdc_tool', 'graminsta_db_ro_keep']);

      await fs.writeFile(slotsFile, '');
      await waitFor('graminsta_db_ro_keep dropped once unlisted', async () => !(await slotNames()).includes('graminsta_db_ro_keep'), 30000, 250);
      expect(await slotNames()).to.deep.equal(['cdc_tool']);
    });

    it('a replica whose slot was dropped while it was away clones the primary again and streams', async () => {
      await fs.writeFile(slotsFile, 'graminsta_db_ro_back\n');
      const replicaPort = await freePort();
      await query(primaryPort, 'CREATE TABLE follows (id serial PRIMARY KEY)');
      let replica = await startReplica('back', replicaPort, primaryPort);
      await waitUntilServing(replicaPort, replica, 'the replica');
      await replica.stop('SIGINT');
      // The replica is removed (scaled down): the file no longer lists it, and the primary drops its slot.
      await fs.writeFile(slotsFile, '');
      await waitFor('its slot dropped', async () => !(await slotNames()).includes('graminsta_db_ro_back'), 30000, 250);
      await query(primaryPort, 'INSERT INTO follows DEFAULT VALUES');
      await query(primaryPort, 'SELECT pg_switch_wal()', 'superuser');

      // Scaled up again on its old volume.
      await fs.writeFile(slotsFile, 'graminsta_db_ro_back\n');
      replica = await startReplica('back', replicaPort, primaryPort);
      await waitUntilServing(replicaPort, replica, 'the replica back on its volume');
      expect(replica.output()).to.contain('the primary has no usable slot graminsta_db_ro_back (dropped or invalidated): cloning it again');
      await waitFor('the row written while it was away', async () => (await query(replicaPort, 'SELECT count(*)::int AS n FROM follows'))[0]?.n === 1);
      await query(primaryPort, 'INSERT INTO follows DEFAULT VALUES');
      await waitFor('streaming again', async () => (await query(replicaPort, 'SELECT count(*)::int AS n FROM follows'))[0]?.n === 2);
      expect(await slotNames()).to.include('graminsta_db_ro_back');
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

  it('reads the passwords from *_FILE files and keeps them out of the postgres server\'s environment', async () => {
    const secrets = path.join(root, 'secrets');
    await fs.mkdir(secrets, { recursive: true });
    const write = async (name: string, value: string) => {
      const file = path.join(secrets, name);
      await fs.writeFile(file, `${value}\n`, { mode: 0o444 });
      return file;
    };
    const port = await freePort();
    const primary = await startPrimary('from-files', port, {
      POSTGRES_APP_PASSWORD: '',
      POSTGRES_REPLICATION_PASSWORD: '',
      POSTGRES_APP_PASSWORD_FILE: await write('app', APP.password),
      POSTGRES_REPLICATION_PASSWORD_FILE: await write('replication', REPLICATION_PASSWORD),
    });
    await waitUntilServing(port, primary, 'the primary started from files');
    await queryAs(port, { user: 'replicator', password: REPLICATION_PASSWORD, replication: true }, 'IDENTIFY_SYSTEM');
    const environs = descendants(primary.child.pid!).map((pid) => readEnviron(pid));
    expect(environs.some((env) => env.includes('POSTGRES_APP_PASSWORD_FILE='))).to.equal(true);
    for (const env of environs) {
      expect(env).not.to.include(APP.password);
      expect(env).not.to.include(REPLICATION_PASSWORD);
    }

    const missing = await startPrimary('missing-file', await freePort(), { POSTGRES_APP_PASSWORD: '', POSTGRES_APP_PASSWORD_FILE: path.join(secrets, 'absent') });
    expect(await missing.exited).to.equal(1);
    expect(missing.output()).to.contain(`POSTGRES_APP_PASSWORD_FILE: cannot read ${path.join(secrets, 'absent')}`);
    const both = await startPrimary('both', await freePort(), { POSTGRES_APP_PASSWORD_FILE: path.join(secrets, 'app') });
    expect(await both.exited).to.equal(1);
    expect(both.output()).to.contain('POSTGRES_APP_PASSWORD and POSTGRES_APP_PASSWORD_FILE are both set');
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
    expect(noPassword.output()).to.contain('POSTGRES_APP_PASSWORD (or POSTGRES_APP_PASSWORD_FILE) is required');

    const badPort = await startPrimary('badport', await freePort(), { POSTGRES_PORT: '54x' });
    expect(await badPort.exited).to.equal(1);
    expect(badPort.output()).to.contain('POSTGRES_PORT must be');
  });
});
