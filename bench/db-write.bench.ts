// What a write statement outside transaction() costs now that it runs as a transaction of its own (ADR 0004): the
// same upsert sent N times through Database.write() and, as the baseline in the same run, as one statement on the
// same pool (what write() sent before). Real Postgres on loopback; rounds alternate the order.
// Run: npx tsx bench/db-write.bench.ts   (BENCH_WRITES=3000, BENCH_ROUNDS=3)
import { startPostgres } from '../test/support/postgres.js';
import { Database } from '../service/db/database.js';
import { createLogger } from '../service/log.js';
import { createMetrics } from '../service/metrics.js';
import { NO_TLS } from '../service/db/tls.js';

const writes = Number(process.env.BENCH_WRITES || 3000);
const rounds = Number(process.env.BENCH_ROUNDS || 3);
const UPSERT = 'INSERT INTO bench_write (id, n) VALUES ($1, 0) ON CONFLICT (id) DO UPDATE SET n = bench_write.n + 1';

const pgc = await startPostgres({ replica: false });
const db = new Database({ host: pgc.primary.host, port: pgc.primary.port, name: pgc.database, user: pgc.user, password: pgc.password, tls: NO_TLS, replicas: [], poolSize: 4, retrySeconds: 5 }, createMetrics(), createLogger('error'));
try {
  await db.primary.query('CREATE TABLE bench_write (id int PRIMARY KEY, n int NOT NULL)');
  /** Microseconds per write of `send`, sequential (one connection's latency, which is what a request waits for). */
  const time = async (send: (i: number) => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < writes; i++) await send(i % 500);
    return ((performance.now() - t0) * 1000) / writes;
  };
  const single = (i: number) => db.primary.query(UPSERT, [i]);
  const own = (i: number) => db.write(1).query(UPSERT, [i]);
  await time(single);
  await time(own);
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let a: number;
    let b: number;
    if (r % 2 === 0) {
      a = await time(single);
      b = await time(own);
    } else {
      b = await time(own);
      a = await time(single);
    }
    ratios.push(b / a);
    console.log(`round ${r + 1}: one statement ${a.toFixed(0)} µs, write() as its own transaction ${b.toFixed(0)} µs: ${(b / a).toFixed(2)}x`);
  }
  ratios.sort((x, y) => x - y);
  console.log(`median ratio over ${rounds} rounds of ${writes} writes: ${ratios[Math.floor(rounds / 2)]!.toFixed(2)}x`);
} finally {
  await db.close();
  await pgc.stop();
}
