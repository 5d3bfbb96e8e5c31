// The query bound is enforced by Postgres itself: a statement that runs past it is cancelled on the server, not only abandoned by the client.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import pg from 'pg';
import { startPostgres, type PgCluster } from '../../support/postgres.js';
import { Database } from '../../../service/db/database.js';
import { AppError } from '../../../service/errors.js';
import { createLogger } from '../../../service/log.js';
import { createMetrics } from '../../../service/metrics.js';
import { NO_TLS } from '../../../service/db/tls.js';

use(chaiAsPromised);

describe('Database statement and lock timeouts (real Postgres)', function () {
  this.timeout(120000);
  let cluster: PgCluster;
  let db: Database;
  let su: pg.Client;
  before(async () => {
    cluster = await startPostgres({ replica: false });
    db = new Database(
      { host: cluster.primary.host, port: cluster.primary.port, name: cluster.database, user: cluster.user, password: cluster.password, tls: NO_TLS, replicas: [], poolSize: 2, retrySeconds: 0, queryTimeoutMs: 1000 },
      createMetrics(),
      createLogger('error'),
    );
    su = new pg.Client({ connectionString: cluster.superuserUrl() });
    await su.connect();
  });
  after(async () => {
    await su?.end();
    await db?.close();
    await cluster?.stop();
  });

  const running = async (marker: string) =>
    (await su.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()`, [`%${marker}%`])).rows[0]!.n;

  it('cancels a statement running past the bound on the server and answers database_unavailable', async () => {
    const started = Date.now();
    const err = await db.write().query(`SELECT pg_sleep(30) /* sleeper-a */`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).code).to.equal('database_unavailable');
    expect(Date.now() - started).to.be.lessThan(5000);
    expect(await running('sleeper-a')).to.equal(0);
  });

  it('gives up waiting for a lock at the bound', async () => {
    await db.write().query('CREATE TABLE locked (id int)');
    const holder = new pg.Client({ host: cluster.primary.host, port: cluster.primary.port, database: cluster.database, user: cluster.user, password: cluster.password });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE');
      await expect(db.write().query('SELECT * FROM locked /* waiter-b */')).to.be.rejectedWith(AppError, 'did not answer in time');
      expect(await running('waiter-b')).to.equal(0);
    } finally {
      await holder.end();
    }
  });
});
