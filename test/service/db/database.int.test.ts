// Read-your-writes is recorded by the database layer itself: a query that changes rows for a user sends that
// user's reads to the primary for a while; reads, writes that change nothing and rolled-back transactions do not.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { startPostgres, type PgCluster } from '../../support/postgres.js';
import { Database } from '../../../service/db/database.js';
import { createLogger } from '../../../service/log.js';
import { createMetrics } from '../../../service/metrics.js';
import { NO_TLS } from '../../../service/db/tls.js';

use(chaiAsPromised);

describe('Database read-your-writes (real Postgres primary + replica)', function () {
  this.timeout(120000);
  let pg: PgCluster;
  let db: Database;
  let now = 1_000_000;
  before(async () => {
    pg = await startPostgres({ replica: true });
    db = new Database(
      { host: pg.primary.host, port: pg.primary.port, name: pg.database, user: pg.user, password: pg.password, tls: NO_TLS, replicas: [pg.replica!], poolSize: 2, retrySeconds: 0, readYourWritesMs: 5000, now: () => now },
      createMetrics(),
      createLogger('error'),
    );
    await db.write().query('CREATE TABLE ryw (id int PRIMARY KEY)');
  });
  after(async () => {
    await db?.close();
    await pg?.stop();
  });

  it('records a write that changed rows for the user, for the configured window', async () => {
    await db.write(1).query('INSERT INTO ryw VALUES (1)');
    expect(db.readsFromPrimary(1)).to.equal(true);
    expect(db.readsFromPrimary(2)).to.equal(false);
    now += 5001;
    expect(db.readsFromPrimary(1)).to.equal(false);
  });

  it('records nothing for reads on the primary, writes that changed nothing, or writes for nobody', async () => {
    await db.write(3).query('SELECT * FROM ryw');
    await db.write(3).query('DELETE FROM ryw WHERE id = -1');
    await db.write().query('INSERT INTO ryw VALUES (4)');
    expect(db.readsFromPrimary(3)).to.equal(false);
  });

  it('records a committed transaction, not a rolled-back one', async () => {
    await db.transaction(async (tx) => void (await tx.query('INSERT INTO ryw VALUES (5)')), 5);
    expect(db.readsFromPrimary(5)).to.equal(true);
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO ryw VALUES (6)');
        throw new Error('changed my mind');
      }, 6),
    ).to.be.rejectedWith('changed my mind');
    expect(db.readsFromPrimary(6)).to.equal(false);
    expect((await db.write().query('SELECT count(*)::int AS n FROM ryw WHERE id = 6')).rows[0]!.n).to.equal(0);
  });
});
