// The migrate mode against a real Postgres that is not listening yet: a migrate Job or init container often starts in
// the second before its primary does (the journey's run 18 saw its container exit 1 on ECONNREFUSED and be run
// again by the Job's backoff). It waits for an unreachable primary up to GRAMINSTA_DB_RETRY_SECONDS, and fails at
// once for what waiting cannot fix.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { migrate, type MigrateOptions } from '../../../service/db/migrate.js';
import { migrations } from '../../../service/db/migrations.js';
import { createLogger } from '../../../service/log.js';
import { startPostgres, type PgCluster } from '../../support/postgres.js';

use(chaiAsPromised);

describe('migrate mode: waiting for the primary (real Postgres)', function () {
  this.timeout(120_000);
  let pg: PgCluster;
  const log = createLogger('error');
  const opts = (extra: Partial<MigrateOptions> = {}): MigrateOptions => ({
    host: pg.primary.host,
    port: pg.primary.port,
    name: pg.database,
    user: pg.user,
    password: pg.password,
    tls: { mode: 'disable', rootCertPath: '' },
    ...extra,
  });

  before(async () => {
    pg = await startPostgres();
  });

  after(async () => {
    await pg?.stop();
  });

  it('waits for a primary that starts listening after migrate started, then applies every migration', async () => {
    await pg.stopPrimary();
    const t0 = Date.now();
    const running = migrate(opts({ retrySeconds: 30 }), log);
    await new Promise((r) => setTimeout(r, 2000));
    await pg.startPrimary();
    const applied = await running;
    expect(Date.now() - t0).to.be.greaterThan(2000);
    expect(applied).to.deep.equal(migrations.map((m) => m.version));
  });

  it('gives up on a primary that stays unreachable after retrySeconds, naming it and the wait', async () => {
    await pg.stopPrimary();
    try {
      const t0 = Date.now();
      const err = (await migrate(opts({ retrySeconds: 2 }), log).then(
        () => expect.fail('migrate succeeded without a primary'),
        (e: Error) => e,
      )) as Error;
      expect(Date.now() - t0).to.be.within(1500, 10_000);
      expect(err.message).to.match(new RegExp(`^while connecting to the primary at 127\\.0\\.0\\.1:${pg.primary.port} \\(not reachable within 2s, \\d+ tries\\)$`));
      expect((err.cause as { code?: string }).code).to.equal('ECONNREFUSED');
    } finally {
      await pg.startPrimary();
    }
  });

  it('fails at once for a password the primary refuses: waiting cannot fix it', async () => {
    const t0 = Date.now();
    await expect(migrate(opts({ password: 'not-the-password', retrySeconds: 30 }), log)).to.be.rejectedWith(/^while connecting to the primary at 127\.0\.0\.1:\d+$/);
    expect(Date.now() - t0).to.be.below(3000);
  });

  it('tries once without retrySeconds', async () => {
    await pg.stopPrimary();
    try {
      await expect(migrate(opts(), log)).to.be.rejectedWith(/^while connecting to the primary at 127\.0\.0\.1:\d+$/);
    } finally {
      await pg.startPrimary();
    }
  });
});
