// A connection that fails during COMMIT leaves its outcome unknown to the client. The database handle reads it back
// (pg_xact_status of the transaction's id) instead of guessing: committed is a success (not run twice), aborted is run
// again. A single write statement is a transaction of its own, so it is resolved the same way. A proxy between the
// handle and real Postgres cuts the connection exactly at a chosen statement, after the server answered it or before
// the server saw it.
import { expect } from 'chai';
import net from 'node:net';
import { startPostgres, type PgCluster } from '../../support/postgres.js';
import { Database } from '../../../service/db/database.js';
import { createLogger } from '../../../service/log.js';
import { createMetrics } from '../../../service/metrics.js';
import { NO_TLS } from '../../../service/db/tls.js';

/** Forwards to Postgres; when armed, cuts the first connection that sends the armed statement, before or after the server answers it. */
class CommitCutter {
  private readonly server = net.createServer((client) => this.accept(client));
  armed: 'before' | 'after' | null = null;
  /** The text that picks the statement (its Parse message carries it). */
  statement = 'COMMIT';
  cuts = 0;
  port = 0;
  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.upstreamPort, '127.0.0.1');
    let cutOnAnswer = false;
    const cut = () => {
      this.cuts++;
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      // The extended protocol's Parse message carries the statement's text.
      if (this.armed && chunk.includes(this.statement)) {
        const when = this.armed;
        this.armed = null;
        if (when === 'before') return cut();
        cutOnAnswer = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (cutOnAnswer) return cut();
      client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}

describe('Database: the outcome of a COMMIT whose connection failed (real Postgres)', function () {
  this.timeout(60000);
  let pg: PgCluster;
  let cutter: CommitCutter;
  let db: Database;
  const metrics = createMetrics();
  const retries = async () => (await metrics.dbRetries.get()).values.reduce((n, v) => n + v.value, 0);
  let runs = 0;
  const insert = (id: string) =>
    db.transaction(async (tx) => {
      runs++;
      await tx.query('INSERT INTO commit_log (id) VALUES ($1)', [id]);
      await tx.query('UPDATE commit_log SET n = n + 1 WHERE id = $1', [id]);
      return id;
    });
  const rows = async (id: string) => (await db.read().query<{ n: number }>('SELECT n FROM commit_log WHERE id = $1', [id])).rows;

  before(async () => {
    pg = await startPostgres({ replica: false });
    cutter = await new CommitCutter(pg.primary.port).start();
    db = new Database({ host: '127.0.0.1', port: cutter.port, name: pg.database, user: pg.user, password: pg.password, tls: NO_TLS, replicas: [], poolSize: 2, retrySeconds: 10 }, metrics, createLogger('error'));
    await db.write().query('CREATE TABLE commit_log (id text PRIMARY KEY, n int NOT NULL DEFAULT 0)');
  });
  after(async () => {
    await db?.close();
    await cutter?.stop();
    await pg?.stop();
  });
  beforeEach(() => {
    runs = 0;
    cutter.statement = 'COMMIT';
  });

  it('answers success for a transaction that committed although its connection failed before the answer, and does not run it again', async () => {
    const [retries0, cuts0] = [await retries(), cutter.cuts];
    cutter.armed = 'after';
    expect(await insert('committed')).to.equal('committed');
    expect(cutter.cuts - cuts0, 'the connection was cut at the COMMIT').to.equal(1);
    expect(runs).to.equal(1);
    expect(await retries()).to.equal(retries0);
    expect(await rows('committed')).to.deep.equal([{ n: 1 }]);
  });

  it('runs a transaction again whose COMMIT never reached the server (read back as aborted)', async () => {
    const [retries0, cuts0] = [await retries(), cutter.cuts];
    cutter.armed = 'before';
    expect(await insert('aborted')).to.equal('aborted');
    expect(cutter.cuts - cuts0).to.equal(1);
    expect(runs).to.equal(2);
    expect(await retries()).to.equal(retries0 + 1);
    expect(await rows('aborted')).to.deep.equal([{ n: 1 }]);
  });

  it('answers success for a single write statement that committed although its connection failed at the COMMIT that follows it', async () => {
    const cuts0 = cutter.cuts;
    cutter.armed = 'after';
    const res = await db.write().query<{ id: string }>('INSERT INTO commit_log (id) VALUES ($1) RETURNING id', ['single-committed']);
    expect(res.rows).to.deep.equal([{ id: 'single-committed' }]);
    expect(cutter.cuts - cuts0).to.equal(1);
    expect(await rows('single-committed')).to.deep.equal([{ n: 0 }]);
  });

  it('sends a single write statement again whose connection failed after the server answered it (nothing committed yet)', async () => {
    const [retries0, cuts0] = [await retries(), cutter.cuts];
    cutter.statement = 'INSERT INTO commit_log';
    cutter.armed = 'after';
    const res = await db.write().query('INSERT INTO commit_log (id) VALUES ($1)', ['single-again']);
    expect(res.rowCount).to.equal(1);
    expect(cutter.cuts - cuts0).to.equal(1);
    expect(await retries()).to.equal(retries0 + 1);
    expect(await rows('single-again')).to.deep.equal([{ n: 0 }]);
  });

  it('sends a SELECT on the primary again whose connection failed after the server answered it', async () => {
    await db.write().query('INSERT INTO commit_log (id, n) VALUES ($1, 7)', ['read-again']);
    const [retries0, cuts0] = [await retries(), cutter.cuts];
    cutter.statement = 'SELECT n AS primary_n';
    cutter.armed = 'after';
    const res = await db.write().query<{ primary_n: number }>('SELECT n AS primary_n FROM commit_log WHERE id = $1', ['read-again']);
    expect(res.rows).to.deep.equal([{ primary_n: 7 }]);
    expect(cutter.cuts - cuts0).to.equal(1);
    expect(await retries()).to.equal(retries0 + 1);
  });
});
