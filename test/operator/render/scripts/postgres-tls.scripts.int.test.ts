// TLS of the in-cluster Postgres against real postgres processes: the operator's certificates (certificates.reconcile.ts)
// in a directory laid out as the kubelet lays out a Secret volume (root-owned, 0440, the postgres group; updated by
// swapping ..data), the rendered pg_hba settings, the service's own Database client.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import pg from 'pg';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { ensureCa, ensureServerCertificate, CERTIFICATE_POLICY, type CertificatePolicy, type PemData } from '../../../../operator/reconcile/certificates.reconcile.js';
import { DB_TLS_KEYS } from '../../../../operator/render/constants.render.js';
// After certificates.reconcile.js, which loads the reflect polyfill @peculiar/x509 needs.
import { X509Certificate } from '@peculiar/x509';
import { Database } from '../../../../service/db/database.js';
import { migrate } from '../../../../service/db/migrate.js';
import { createLogger } from '../../../../service/log.js';
import { createMetrics } from '../../../../service/metrics.js';
import { pgSsl, type DatabaseTls } from '../../../../service/db/tls.js';
import { IS_ROOT, asUser } from '../../../support/local-process.js';
import { app, ctx, plan, render } from '../helpers.js';
import { freePort, makeTempDir, runScript, waitFor, type ScriptProcess } from './script-process.js';

use(chaiAsPromised);

const BIN_DIR = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const OS_USER = 'postgres';
const APP = { user: 'graminsta', password: 'app-secret', database: 'graminsta' };
const REPLICATION_PASSWORD = 'repl-secret';
const DAY = 86_400_000;
/** Lifetimes whose renewal margin is the whole lifetime: the certificates issued at the start are due at once. */
const DUE_AT_ONCE: CertificatePolicy = { ...CERTIFICATE_POLICY, caValidityMs: 10 * DAY, caRenewBeforeMs: 10 * DAY, serverValidityMs: 5 * DAY, serverRenewBeforeMs: 5 * DAY };

/** The env the operator renders for the primary's postgres container at stage data-layer: its settings, without the paths of mounted files. */
function renderedPrimaryEnv(): Record<string, string> {
  const sts = render(app({ users: 100000 }), ctx()).find((o) => o.kind === 'StatefulSet' && o.metadata?.name === 'graminsta-db')!;
  const spec = (sts as { spec: { template: { spec: V1PodSpec } } }).spec.template.spec;
  const c = spec.containers.find((x: V1Container) => x.name === 'postgres')!;
  return Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined && !e.name.endsWith('_FILE')).map((e) => [e.name, e.value!]));
}

/**
 * A directory laid out as the kubelet writes a Secret volume: the keys are symlinks into ..data, which points at a
 * timestamped directory; an update writes a new one and swaps ..data atomically. Root-owned, mode 0440, group postgres
 * (the pod's fsGroup), as Postgres must accept its key file.
 */
class SecretVolume {
  private generation = 0;
  constructor(readonly dir: string) {}

  file(key: string): string {
    return path.join(this.dir, key);
  }

  async write(data: PemData): Promise<void> {
    const version = `..${++this.generation}`;
    const target = path.join(this.dir, version);
    await fs.mkdir(target, { recursive: true });
    for (const [key, value] of Object.entries(data)) {
      await fs.writeFile(path.join(target, key), value, { mode: 0o440 });
      if (IS_ROOT) execFileSync('chown', [`root:${OS_USER}`, path.join(target, key)]);
      const link = path.join(this.dir, key);
      await fs.symlink(path.join('..data', key), link).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
    await fs.chmod(target, 0o755);
    const tmp = path.join(this.dir, '..data_tmp');
    await fs.rm(tmp, { force: true });
    await fs.symlink(version, tmp);
    await fs.rename(tmp, path.join(this.dir, '..data'));
  }
}

/** A client of the app database at `host`:`port` with the service's TLS options for `tls` (db/tls.ts); the caller ends it. */
async function connect(port: number, tls: DatabaseTls, host = '127.0.0.1'): Promise<pg.Client> {
  const client = new pg.Client({ host, port, user: APP.user, password: APP.password, database: APP.database, ssl: pgSsl(tls), connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** The serial number of the certificate the server at 127.0.0.1:`port` presents to a new connection verified per `tls`. */
async function presentedSerial(port: number, tls: DatabaseTls): Promise<string> {
  const client = await connect(port, tls);
  try {
    const stream = (client as unknown as { connection: { stream: TLSSocket } }).connection.stream;
    return stream.getPeerCertificate().serialNumber.toLowerCase().replace(/^0+/, '');
  } finally {
    await client.end();
  }
}

function database(port: number, tls: DatabaseTls, host = '127.0.0.1'): Database {
  return new Database(
    { host, port, name: APP.database, user: APP.user, password: APP.password, tls, replicas: [], poolSize: 2, retrySeconds: 0 },
    createMetrics(),
    createLogger('error'),
  );
}

async function plainQuery<T extends pg.QueryResultRow>(config: pg.ClientConfig, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionTimeoutMillis: 3000, ...config });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber.toLowerCase().replace(/^0+/, '');
}

describe('postgres TLS against real postgres processes (the operator\'s certificates, the rendered pg_hba)', function () {
  this.timeout(180000);
  let root: string;
  const running: ScriptProcess[] = [];
  const tlsPlan = plan(app({ users: 100000 })).databaseTls!;
  let ca: PemData;
  let server: PemData;
  let volume: SecretVolume;
  let caCopy: string;
  let primaryPort: number;
  let replicaPort: number;
  let primary: ScriptProcess;
  let replica: ScriptProcess;
  let verifyFull: DatabaseTls;

  async function startServer(script: 'postgres-primary.sh' | 'postgres-replica.sh', name: string, port: number, env: Record<string, string>): Promise<ScriptProcess> {
    const dir = path.join(root, name);
    await fs.mkdir(dir, { recursive: true });
    if (IS_ROOT) execFileSync('chown', [OS_USER, dir]);
    const proc = await runScript({
      script,
      dir,
      user: OS_USER,
      env: {
        ...renderedPrimaryEnv(),
        POSTGRES_BIN_DIR: BIN_DIR,
        PGDATA: path.join(dir, 'volume', 'pgdata'),
        POSTGRES_PORT: String(port),
        // 127.0.0.2 too: a name the certificate does not carry, on the same server.
        POSTGRES_LISTEN_ADDRESSES: '127.0.0.1,127.0.0.2',
        POSTGRES_SOCKET_DIR: dir,
        POSTGRES_TLS_CERT_FILE: volume.file(DB_TLS_KEYS.cert),
        POSTGRES_TLS_KEY_FILE: volume.file(DB_TLS_KEYS.key),
        POSTGRES_TLS_CA_FILE: volume.file(DB_TLS_KEYS.ca),
        POSTGRES_TLS_CHECK_SECONDS: '1',
        ...env,
      },
      args: ['-c', 'fsync=off'],
    });
    running.push(proc);
    return proc;
  }

  before(async () => {
    root = await makeTempDir('graminsta-pgtls-', OS_USER);
    await fs.chmod(root, 0o755);
    ca = (await ensureCa(tlsPlan.caSecret, undefined, Date.now(), DUE_AT_ONCE)).data;
    server = (await ensureServerCertificate(tlsPlan, ca, undefined, Date.now(), DUE_AT_ONCE)).data;
    volume = new SecretVolume(path.join(root, 'secret'));
    await volume.write(server);
    caCopy = path.join(root, 'ca-at-start.crt');
    await fs.writeFile(caCopy, ca['ca.crt']!);
    verifyFull = { mode: 'verify-full', rootCertPath: volume.file(DB_TLS_KEYS.ca) };
    primaryPort = await freePort();
    replicaPort = await freePort();
  });

  after(async () => {
    for (const proc of running.reverse()) await proc.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('serves TLS with the key file as a Secret volume holds it (root-owned, 0440, the postgres group), from the rendered pg_hba; the service and migrate connect with verify-full', async () => {
    const env = renderedPrimaryEnv();
    expect(env.POSTGRES_ALLOWED_CIDRS).to.match(/^127\.0\.0\.1\/32 ::1\/128 10\.0\.0\.0\/8 /);
    primary = await startServer('postgres-primary.sh', 'primary', primaryPort, {
      POSTGRES_APP_PASSWORD: APP.password,
      POSTGRES_REPLICATION_PASSWORD: REPLICATION_PASSWORD,
    });
    const db = database(primaryPort, verifyFull);
    try {
      await waitFor('the primary serving TLS', async () => (await db.write().query('SELECT 1 AS ok').catch(() => ({ rows: [] }))).rows[0]?.ok === 1, 60000).catch((err: Error) => {
        throw new Error(`${err.message}\n${primary.output()}`);
      });
      const { rows } = await db.write().query<{ ssl: boolean; version: string }>('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      expect(rows[0]?.ssl).to.equal(true);
      expect(rows[0]?.version).to.match(/^TLSv1\.[23]$/);
    } finally {
      await db.close();
    }
    // The migrate mode (the migrate Job, the single pod's init container) connects the same way.
    const applied = await migrate({ host: '127.0.0.1', port: primaryPort, name: APP.database, user: APP.user, password: APP.password, tls: verifyFull }, createLogger('error'));
    expect(applied.length).to.be.greaterThan(0);
    if (IS_ROOT) {
      const st = await fs.stat(volume.file(DB_TLS_KEYS.key));
      expect({ uid: st.uid, mode: st.mode & 0o777 }).to.deep.equal({ uid: 0, mode: 0o440 });
    }
    const hba = await fs.readFile(path.join(root, 'primary', 'volume', 'pgdata', 'pg_hba.conf'), 'utf8');
    expect(hba.split('\n').filter((l) => /^host/.test(l)).every((l) => /^hostssl |^hostnossl .* reject$/.test(l))).to.equal(true);
  });

  it('rejects a connection without TLS, from loopback too', async () => {
    await expect(plainQuery({ host: '127.0.0.1', port: primaryPort, user: APP.user, password: APP.password, database: APP.database, ssl: false }, 'SELECT 1')).to.be.rejectedWith(
      /pg_hba\.conf rejects connection .*no encryption/,
    );
  });

  /** postgres-backup.sh against the primary, its pipe read to the end as the uploader reads it: pg_dump's status and output. */
  async function dumpOnce(env: Record<string, string>): Promise<{ status: string; head: string; output: string }> {
    const dir = await makeTempDir('graminsta-pgtls-dump-', OS_USER);
    try {
      const dump = await runScript({
        script: 'postgres-backup.sh',
        dir,
        user: OS_USER,
        env: { POSTGRES_BIN_DIR: BIN_DIR, POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(primaryPort), POSTGRES_APP_PASSWORD: APP.password, POSTGRES_BACKUP_DIR: dir, POSTGRES_WAIT_TIMEOUT_SECONDS: '2', TMPDIR: dir, ...env },
      });
      running.push(dump);
      const fifo = path.join(dir, 'dump.fifo');
      await waitFor(`the dump pipe\n${dump.output()}`, async () => fs.stat(fifo).then(() => true, () => false), 30000, 50);
      const data = await fs.readFile(fifo);
      await dump.exited;
      return { status: (await fs.readFile(path.join(dir, 'dump.status'), 'utf8')).trim(), head: data.subarray(0, 5).toString('latin1'), output: dump.output() };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  it('backs up over TLS: the backup CronJob\'s pg_dump verifies the server with the CA (verify-full); another CA fails, and no TLS is refused', async () => {
    const tls = await dumpOnce({ POSTGRES_TLS_CA_FILE: volume.file(DB_TLS_KEYS.ca) });
    expect(tls.status, tls.output).to.equal('0');
    expect(tls.head).to.equal('PGDMP');
    // libpq's default (prefer) would encrypt without verifying; without TLS at all the server refuses.
    const plain = await dumpOnce({ PGSSLMODE: 'disable' });
    expect(plain.status).to.not.equal('0');
    expect(plain.output).to.match(/no encryption/);
    const other = await ensureCa('another-backup-ca', undefined, Date.now());
    const otherCa = path.join(root, 'another-backup-ca.crt');
    await fs.writeFile(otherCa, other.data['ca.crt']!);
    const wrongCa = await dumpOnce({ POSTGRES_TLS_CA_FILE: otherCa });
    expect(wrongCa.status).to.not.equal('0');
    expect(wrongCa.output, wrongCa.output).to.match(/certificate verify failed/);
  });

  it('fails verification for a name the certificate does not carry, and for another CA', async () => {
    await expect(connect(primaryPort, verifyFull, '127.0.0.2')).to.be.rejectedWith(/IP: 127\.0\.0\.2 is not in the cert's list|does not match certificate's altnames/);
    const other = await ensureCa('someone-else-ca', undefined, Date.now());
    const otherCa = path.join(root, 'other-ca.crt');
    await fs.writeFile(otherCa, other.data['ca.crt']!);
    await expect(connect(primaryPort, { mode: 'verify-full', rootCertPath: otherCa })).to.be.rejectedWith(/self[- ]signed certificate in certificate chain|unable to verify|unable to get local issuer/);
    await expect(connect(primaryPort, { mode: 'verify-ca', rootCertPath: otherCa }, '127.0.0.2')).to.be.rejectedWith(/self[- ]signed certificate in certificate chain|unable to verify|unable to get local issuer/);
    // verify-ca checks the chain only: the same name that verify-full refuses passes.
    const chainOnly = await connect(primaryPort, { mode: 'verify-ca', rootCertPath: volume.file(DB_TLS_KEYS.ca) }, '127.0.0.2');
    expect((await chainOnly.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0]?.ssl).to.equal(true);
    await chainOnly.end();
  });

  it('streams to a replica over TLS that verifies the primary (verify-full), and the replica serves TLS itself', async () => {
    replica = await startServer('postgres-replica.sh', 'replica', replicaPort, {
      POSTGRES_PRIMARY_HOST: '127.0.0.1',
      POSTGRES_PRIMARY_PORT: String(primaryPort),
      POSTGRES_REPLICATION_PASSWORD: REPLICATION_PASSWORD,
      POSTGRES_WAIT_MAX_DELAY_SECONDS: '2',
      HOSTNAME: 'graminsta-db-replica-0',
    });
    const primaryDb = database(primaryPort, verifyFull);
    const replicaDb = database(replicaPort, verifyFull);
    try {
      await waitFor(`the replica streaming\n${replica.output()}`, async () => {
        const { rows } = await primaryDb.write().query<{ ssl: boolean }>("SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.application_name = 'graminsta_db_replica_0' AND r.state = 'streaming'");
        return rows[0]?.ssl === true;
      }, 90000);
      await waitFor('the replica accepting connections', async () => (await replicaDb.write().query('SELECT 1').catch(() => ({ rowCount: 0 }))).rowCount === 1, 60000);
      const [receiver] = (await replicaDb.write().query<{ conninfo: string }>('SELECT conninfo FROM pg_stat_wal_receiver')).rows;
      expect(receiver?.conninfo).to.include('sslmode=verify-full');
      await primaryDb.write().query('CREATE TABLE tls_probe (id int)');
      await primaryDb.write().query('INSERT INTO tls_probe VALUES (1)');
      await waitFor('the row on the replica', async () => (await replicaDb.write().query('SELECT 1 FROM tls_probe').catch(() => ({ rowCount: 0 }))).rowCount === 1);
      await expect(plainQuery({ host: '127.0.0.1', port: replicaPort, user: APP.user, password: APP.password, database: APP.database, ssl: false }, 'SELECT 1')).to.be.rejectedWith(/no encryption/);
      // The probes as the containers run them: pg_isready on loopback (startup, liveness, the primary's readiness)
      // and the replica's readiness script, which asks the primary with pg_isready when the replica does not stream.
      for (const port of [primaryPort, replicaPort]) {
        const [cmd, ...args] = asUser(OS_USER, [path.join(BIN_DIR, 'pg_isready'), '-q', '-h', '127.0.0.1', '-p', String(port)]);
        expect(() => execFileSync(cmd!, args), `pg_isready on ${port}`).not.to.throw();
      }
      const ready = await runScript({
        script: 'postgres-replica-ready.sh',
        dir: path.join(root, 'replica'),
        user: OS_USER,
        env: { POSTGRES_BIN_DIR: BIN_DIR, POSTGRES_PORT: String(replicaPort), POSTGRES_SOCKET_DIR: path.join(root, 'replica'), POSTGRES_PRIMARY_HOST: '127.0.0.1', POSTGRES_PRIMARY_PORT: String(primaryPort) },
      });
      expect(await ready.exited, ready.output()).to.equal(0);
    } finally {
      await primaryDb.close();
      await replicaDb.close();
    }
  });

  it('serves a renewed certificate (and a renewed CA) to new connections without a restart; open sessions and streaming go on', async () => {
    const session = await connect(primaryPort, verifyFull);
    const [{ started }] = (await session.query<{ started: string }>('SELECT pg_postmaster_start_time()::text AS started')).rows as [{ started: string }];
    expect(await presentedSerial(primaryPort, verifyFull)).to.equal(serialOf(server['tls.crt']!));
    // Both within their renewal margin: the CA is renewed (same key and name), then the server certificate for it.
    const renewedCa = await ensureCa(tlsPlan.caSecret, ca, Date.now(), DUE_AT_ONCE);
    expect(renewedCa.issued).to.match(/^the CA certificate expires at /);
    expect(renewedCa.data['ca.key']).to.equal(ca['ca.key']);
    const renewed = await ensureServerCertificate(tlsPlan, renewedCa.data, server, Date.now(), DUE_AT_ONCE);
    expect(renewed.issued).to.match(/^the server certificate expires at /);
    await volume.write(renewed.data);
    const want = serialOf(renewed.data['tls.crt']!);
    await waitFor(`postgres serving the renewed certificate\n${primary.output()}`, async () => (await presentedSerial(primaryPort, verifyFull)) === want, 30000, 500);
    expect(primary.output()).to.contain('the TLS certificate or key changed; reloading postgres');
    // Same server process; the session opened before the renewal still answers.
    const [{ started: after }] = (await session.query<{ started: string }>('SELECT pg_postmaster_start_time()::text AS started')).rows as [{ started: string }];
    expect(after).to.equal(started);
    await session.end();
    // A client still holding the CA certificate from before its renewal verifies the new server certificate: same CA key and name.
    expect(await presentedSerial(primaryPort, { mode: 'verify-full', rootCertPath: caCopy })).to.equal(want);
    // The replica reloads too and keeps streaming.
    await waitFor(`the replica serving the renewed certificate\n${replica.output()}`, async () => (await presentedSerial(replicaPort, verifyFull)) === want, 30000, 500);
    const primaryDb = database(primaryPort, verifyFull);
    try {
      const { rows } = await primaryDb.write().query<{ ssl: boolean }>("SELECT s.ssl FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.state = 'streaming'");
      expect(rows.map((r) => r.ssl)).to.deep.equal([true]);
    } finally {
      await primaryDb.close();
    }
  });
});
