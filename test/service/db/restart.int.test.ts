// A primary restart (fast shutdown, back ~2 s later) is latency, not errors: reads, writes and transactions that could
// not reach the server are retried within GRAMINSTA_DB_RETRY_SECONDS; past the bound they answer 503 as before.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { startPostgres, type PgCluster } from '../../support/postgres.js';
import { Database } from '../../../service/db/database.js';
import { AppError } from '../../../service/errors.js';
import { createLogger } from '../../../service/log.js';
import { createMetrics, type Metrics } from '../../../service/metrics.js';
import { NO_TLS } from '../../../service/db/tls.js';

use(chaiAsPromised);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Database across a primary restart (real Postgres)', function () {
  this.timeout(120000);
  let pg: PgCluster;
  const open: Database[] = [];
  const connect = (retrySeconds: number, metrics: Metrics = createMetrics()) => {
    const db = new Database({ host: pg.primary.host, port: pg.primary.port, name: pg.database, user: pg.user, password: pg.password, tls: NO_TLS, replicas: [], poolSize: 4, retrySeconds }, metrics, createLogger('error'));
    open.push(db);
    return db;
  };
  const retries = async (m: Metrics) => (await m.dbRetries.get()).values.reduce((n, v) => n + v.value, 0);

  before(async () => {
    pg = await startPostgres({ replica: false });
    await connect(0).write().query('CREATE TABLE restart_log (id text PRIMARY KEY, n int NOT NULL DEFAULT 0)');
  });
  after(async () => {
    for (const db of open) await db.close();
    await pg?.stop();
  });

  it('serves a loop of reads, writes and transactions through a restart with zero failures, counting retries', async () => {
    const metrics = createMetrics();
    const db = connect(20, metrics);
    let stop = false;
    const failures: string[] = [];
    const acked: string[] = [];
    // One kind of statement per worker, so reads, writes and transactions are all in flight when the server goes away.
    const kinds = ['read', 'write', 'write', 'transaction', 'transaction', 'read'] as const;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        try {
          if (kinds[w] === 'read') await db.read().query('SELECT count(*) FROM restart_log');
          else if (kinds[w] === 'write') await db.write(w).query('INSERT INTO restart_log (id) VALUES ($1)', [id]);
          else
            await db.transaction(async (tx) => {
              await tx.query('INSERT INTO restart_log (id) VALUES ($1)', [id]);
              await tx.query('UPDATE restart_log SET n = n + 1 WHERE id = $1', [id]);
            }, w);
          if (kinds[w] !== 'read') acked.push(id);
        } catch (err) {
          failures.push(`${kinds[w]} ${id}: ${(err as Error).message} (${String((err as Error).cause)})`);
        }
        await sleep(2);
      }
    };
    const workers = kinds.map((_, w) => worker(w));
    try {
      await sleep(500);
      await pg.stopPrimary();
      await sleep(2000);
      await pg.startPrimary();
      await sleep(1000);
    } finally {
      stop = true;
      await Promise.all(workers);
    }

    expect(failures).to.deep.equal([]);
    expect(await retries(metrics)).to.be.greaterThan(0);
    // Every acknowledged write is there once (a retried write that had committed would have hit the primary key).
    const { rows } = await db.read().query<{ id: string }>('SELECT id FROM restart_log');
    const stored = new Set(rows.map((r) => r.id));
    expect(acked.filter((id) => !stored.has(id))).to.deep.equal([]);
  });

  it('answers 503 database_unavailable within about the bound when the primary stays down', async () => {
    const db = connect(2);
    await db.write().query('SELECT 1');
    await pg.stopPrimary();
    try {
      for (const attempt of [() => db.write().query('INSERT INTO restart_log (id) VALUES ($1)', ['never']), () => db.read().query('SELECT 1'), () => db.transaction(async (tx) => tx.query('SELECT 1'))]) {
        const t0 = Date.now();
        await expect(attempt()).to.be.rejectedWith(AppError, 'the database is unavailable').and.eventually.have.property('code', 'database_unavailable');
        const took = Date.now() - t0;
        expect(took).to.be.within(1800, 3500);
      }
    } finally {
      await pg.startPrimary();
    }
  });
});
