// Starts a real local Postgres 15 primary (and optionally one streaming replica) on free loopback ports, in temp dirs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { IS_ROOT, asUser as asUserArgv, freePort, waitFor } from './local-process.js';

export { freePort, waitFor } from './local-process.js';

const execFileP = promisify(execFile);
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const RUN_AS = 'postgres';

/** Connection settings for one Postgres server. */
export interface PgEndpoint {
  host: string;
  port: number;
}

/** A running primary (+ replica) pair with the app database `graminsta` owned by user `graminsta`. */
export interface PgCluster {
  primary: PgEndpoint;
  replica: PgEndpoint | null;
  database: string;
  user: string;
  password: string;
  /** Superuser connection string for the primary (for test assertions such as pg_stat_statements). */
  superuserUrl: (endpoint?: PgEndpoint) => string;
  stopPrimary: () => Promise<void>;
  startPrimary: () => Promise<void>;
  stopReplica: () => Promise<void>;
  startReplica: () => Promise<void>;
  /** Waits until the replica has replayed everything the primary has written so far. */
  waitForReplication: () => Promise<void>;
  /** Stops every server and removes the temp dir. */
  stop: () => Promise<void>;
}

function asUser(cmd: string, args: string[]): [string, string[]] {
  const [c, ...a] = asUserArgv(RUN_AS, [cmd, ...args]);
  return [c!, a];
}

async function run(cmd: string, args: string[]): Promise<void> {
  const [c, a] = asUser(cmd, args);
  try {
    await execFileP(c, a, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(`while running ${cmd} ${args.join(' ')}: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
  }
}

async function chownToRunUser(p: string): Promise<void> {
  if (!IS_ROOT) return;
  await execFileP('chown', ['-R', `${RUN_AS}:${RUN_AS}`, p]);
}

async function pgCtlStart(dataDir: string, logFile: string): Promise<void> {
  // pg_ctl -w returns once the server accepts connections (or fails).
  await run(path.join(BIN, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start']);
}

async function pgCtlStop(dataDir: string): Promise<void> {
  await run(path.join(BIN, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']).catch(() => undefined);
}

/** Starts a primary (and a streaming replica when `replica` is true); call `stop()` when done. */
export async function startPostgres(opts: { replica?: boolean } = {}): Promise<PgCluster> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-pg-'));
  await fs.chmod(root, 0o755);
  await chownToRunUser(root);
  const superPassword = 'super-' + Math.random().toString(36).slice(2);
  const password = 'app-' + Math.random().toString(36).slice(2);
  const primaryDir = path.join(root, 'primary');
  const replicaDir = path.join(root, 'replica');
  const pwFile = path.join(root, 'pw');
  await fs.writeFile(pwFile, superPassword);
  await chownToRunUser(pwFile);
  const primary: PgEndpoint = { host: '127.0.0.1', port: await freePort() };
  const primaryLog = path.join(root, 'primary.log');
  const replicaLog = path.join(root, 'replica.log');
  const superuserUrl = (ep: PgEndpoint = primary) => `postgres://postgres:${encodeURIComponent(superPassword)}@${ep.host}:${ep.port}/postgres`;
  let replica: PgEndpoint | null = null;
  const stop = async () => {
    if (replica) await pgCtlStop(replicaDir);
    await pgCtlStop(primaryDir);
    await fs.rm(root, { recursive: true, force: true });
  };
  // A set-up that fails part-way stops the servers it started: a detached postmaster outlives the test run.
  try {
    await run(path.join(BIN, 'initdb'), ['-D', primaryDir, '-U', 'postgres', '--pwfile', pwFile, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--no-sync']);
    await fs.appendFile(
      path.join(primaryDir, 'postgresql.conf'),
      [
        `listen_addresses = '127.0.0.1'`,
        `port = ${primary.port}`,
        `unix_socket_directories = '${root}'`,
        `wal_level = replica`,
        `max_wal_senders = 5`,
        `hot_standby = on`,
        `fsync = off`,
        `shared_preload_libraries = 'pg_stat_statements'`,
        `pg_stat_statements.track = all`,
        `max_connections = 200`,
        '',
      ].join('\n'),
    );
    await fs.appendFile(path.join(primaryDir, 'pg_hba.conf'), 'host replication postgres 127.0.0.1/32 scram-sha-256\n');
    await pgCtlStart(primaryDir, primaryLog);

    const admin = new pg.Client({ connectionString: superuserUrl() });
    await admin.connect();
    await admin.query(`CREATE ROLE graminsta LOGIN PASSWORD '${password}'`);
    await admin.query('CREATE DATABASE graminsta OWNER graminsta');
    await admin.end();
    const appDb = new pg.Client({ connectionString: superuserUrl().replace(/\/postgres$/, '/graminsta') });
    await appDb.connect();
    await appDb.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await appDb.end();

    if (opts.replica) {
      replica = { host: '127.0.0.1', port: await freePort() };
      const passFile = path.join(root, 'pgpass');
      await fs.writeFile(passFile, `127.0.0.1:${primary.port}:*:postgres:${superPassword}\n`, { mode: 0o600 });
      await chownToRunUser(passFile);
      const [c, a] = asUser(path.join(BIN, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync']);
      await execFileP(c, a, { env: { ...process.env, PGPASSFILE: passFile } }).catch((err) => {
        throw new Error(`while taking a base backup for the replica: ${(err as { stderr?: string }).stderr ?? ''}`, { cause: err });
      });
      await fs.appendFile(path.join(replicaDir, 'postgresql.conf'), `port = ${replica.port}\nhot_standby_feedback = on\n`);
      // primary_conninfo written by -R carries the password from PGPASSFILE; keep the file for reconnects.
      await fs.appendFile(path.join(replicaDir, 'postgresql.auto.conf'), `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=postgres password=${superPassword}'\n`);
      await pgCtlStart(replicaDir, replicaLog);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const waitForReplication = async () => {
    if (!replica) return;
    const p = new pg.Client({ connectionString: superuserUrl() });
    await p.connect();
    const { rows } = await p.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    await p.end();
    const target = rows[0]!.lsn;
    await waitFor('replica replay', async () => {
      const r = new pg.Client({ connectionString: superuserUrl(replica!) });
      await r.connect();
      try {
        const res = await r.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [target]);
        return res.rows[0]?.ok === true;
      } finally {
        await r.end();
      }
    });
  };
  return {
    primary,
    replica,
    database: 'graminsta',
    user: 'graminsta',
    password,
    superuserUrl,
    stopPrimary: () => pgCtlStop(primaryDir),
    startPrimary: () => pgCtlStart(primaryDir, primaryLog),
    stopReplica: async () => {
      if (replica) await pgCtlStop(replicaDir);
    },
    startReplica: async () => {
      if (replica) await pgCtlStart(replicaDir, replicaLog);
    },
    waitForReplication,
    stop,
  };
}

