// exporter mode against real servers: a Postgres primary with a streaming replica and Redis (standalone and
// cluster), read through the same config, code and port the metrics sidecars use, producing the series the
// alerts and the dashboard read.
import { expect } from 'chai';
import pg from 'pg';
import { Redis } from 'ioredis';
import { loadConfig } from '../../../service/config.js';
import { createLogger } from '../../../service/log.js';
import { startExporter, type RunningExporter } from '../../../service/app/server.infra.js';
import { POSTGRES_FAMILIES, REDIS_FAMILIES } from '../../../service/exporter/exporter.service.js';
import { startPostgres, type PgCluster } from '../../support/postgres.js';
import { startRedis, startRedisCluster, type RedisDeployment } from '../../support/redis.js';

const log = createLogger('error');

/** The value of one sample (name and exact label set as printed), or undefined when the scrape has none. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(e: RunningExporter): Promise<string> {
  const res = await fetch(`${e.url}/metrics`);
  expect(res.status).to.equal(200);
  return res.text();
}

describe('exporter mode (the metrics sidecar) on real Postgres and Redis', function () {
  this.timeout(180_000);

  describe('postgres', () => {
    let pgc: PgCluster;
    const exporters: RunningExporter[] = [];
    const start = async (host: { host: string; port: number }) => {
      const env = { GRAMINSTA_EXPORTER_TARGET: 'postgres', GRAMINSTA_METRICS_PORT: '0', GRAMINSTA_DB_HOST: host.host, GRAMINSTA_DB_PORT: String(host.port), GRAMINSTA_DB_PASSWORD: pgc.password, LOG_LEVEL: 'error' };
      const e = await startExporter(loadConfig(env, 'exporter'), log);
      exporters.push(e);
      return e;
    };

    before(async () => {
      pgc = await startPostgres({ replica: true });
      // As the primary's start script does for the app role (operator/render/scripts/postgres-primary.sh).
      const admin = new pg.Client({ connectionString: pgc.superuserUrl() });
      await admin.connect();
      await admin.query('GRANT pg_monitor TO graminsta');
      await admin.end();
      await pgc.waitForReplication();
    });
    after(async () => {
      for (const e of exporters) await e.close();
      await pgc?.stop();
    });

    it('on the primary: role, connections, database size and each standby seen in pg_stat_replication', async () => {
      const e = await start(pgc.primary);
      const idle = new pg.Client({ host: pgc.primary.host, port: pgc.primary.port, user: 'graminsta', password: pgc.password, database: 'graminsta' });
      await idle.connect();
      try {
        const text = await scrape(e);
        expect(sample(text, 'pg_up')).to.equal(1);
        // Every family the alerts and dashboard checks count as emitted (test/support/promql.ts) is printed.
        for (const f of POSTGRES_FAMILIES) expect(text).to.include(`# TYPE ${f.name} ${f.type}\n`);
        expect(sample(text, 'pg_replication_is_replica')).to.equal(0);
        expect(sample(text, 'pg_settings_max_connections')).to.be.greaterThan(0);
        expect(sample(text, 'pg_database_size_bytes{datname="graminsta"}')).to.be.greaterThan(1_000_000);
        // The idle client is another session: its state is visible through pg_monitor.
        expect(sample(text, 'pg_stat_activity_count{datname="graminsta",state="idle"}')).to.be.at.least(1);
        const standby = text.split('\n').find((l) => l.startsWith('pg_stat_replication_lag_bytes{'));
        expect(standby, text).to.match(/state="streaming"/);
        expect(text).to.match(/^pg_stat_replication_replay_lag_seconds\{application_name="[^"]+",client_addr="127\.0\.0\.1",state="streaming"\} [0-9.e-]+$/m);
        expect(text).to.not.match(/^pg_replication_lag_seconds /m);
      } finally {
        await idle.end();
      }
    });

    it('on the replica: its replay lag, 0 when caught up and growing while replay is paused', async () => {
      const e = await start(pgc.replica!);
      let text = await scrape(e);
      expect(sample(text, 'pg_replication_is_replica')).to.equal(1);
      expect(sample(text, 'pg_stat_wal_receiver_streaming')).to.equal(1);
      expect(sample(text, 'pg_replication_lag_seconds')).to.equal(0);
      const replica = new pg.Client({ connectionString: pgc.superuserUrl(pgc.replica!) });
      const primary = new pg.Client({ connectionString: pgc.superuserUrl().replace(/\/postgres$/, '/graminsta') });
      await replica.connect();
      await primary.connect();
      try {
        await primary.query('CREATE TABLE IF NOT EXISTS exporter_lag (n int)');
        await pgc.waitForReplication();
        await replica.query('SELECT pg_wal_replay_pause()');
        await primary.query('INSERT INTO exporter_lag VALUES (1)');
        await new Promise((r) => setTimeout(r, 1500));
        await primary.query('INSERT INTO exporter_lag VALUES (2)');
        await new Promise((r) => setTimeout(r, 1500));
        text = await scrape(e);
        expect(sample(text, 'pg_replication_lag_seconds')).to.be.greaterThan(1);
      } finally {
        await replica.query('SELECT pg_wal_replay_resume()');
        await replica.end();
        await primary.end();
      }
    });

    it('says pg_up 0 (and nothing stale) while the server is down, and recovers', async () => {
      const e = await start(pgc.replica!);
      expect(sample(await scrape(e), 'pg_up')).to.equal(1);
      await pgc.stopReplica();
      try {
        const text = await scrape(e);
        expect(sample(text, 'pg_up')).to.equal(0);
        expect(text).to.not.match(/^pg_(replication_lag_seconds|database_size_bytes)/m);
      } finally {
        await pgc.startReplica();
      }
      let up: number | undefined;
      for (let i = 0; i < 50 && up !== 1; i++) {
        await new Promise((r) => setTimeout(r, 200));
        up = sample(await scrape(e), 'pg_up');
      }
      expect(up).to.equal(1);
    });

    it('serves only GET /metrics on its port', async () => {
      const e = exporters[0]!;
      expect((await fetch(`${e.url}/`)).status).to.equal(404);
      expect((await fetch(`${e.url}/metrics`, { method: 'POST' })).status).to.equal(404);
    });
  });

  for (const mode of ['standalone', 'cluster'] as const) {
    describe(`redis (${mode})`, () => {
      let redis: RedisDeployment;
      let e: RunningExporter;
      before(async () => {
        redis = mode === 'cluster' ? await startRedisCluster() : await startRedis();
        e = await startExporter(loadConfig({ GRAMINSTA_EXPORTER_TARGET: 'redis', GRAMINSTA_METRICS_PORT: '0', GRAMINSTA_REDIS_NODES: redis.nodes[0]!, LOG_LEVEL: 'error' }, 'exporter'), log);
      });
      after(async () => {
        await e?.close();
        await redis?.stop();
      });

      it('reads INFO: hits and misses of real lookups, memory, clients, keys and (cluster) the cluster state', async () => {
        const [host, port] = redis.nodes[0]!.split(':');
        const c = new Redis({ host, port: Number(port) });
        try {
          // In a cluster, a key of this node's slots: another node's would answer MOVED and count nothing here.
          let key = 'k0';
          if (mode === 'cluster') {
            const me = String(await c.call('CLUSTER', 'NODES')).split('\n').find((l) => l.includes('myself'))!;
            const ranges = me.trim().split(' ').slice(8).map((r) => r.split('-').map(Number));
            for (let i = 0; ; i++) {
              const slot = Number(await c.call('CLUSTER', 'KEYSLOT', `k${i}`));
              if (ranges.some(([a, b]) => slot >= a! && slot <= (b ?? a)!)) {
                key = `k${i}`;
                break;
              }
            }
          }
          const before = await scrape(e);
          const hits0 = sample(before, 'redis_keyspace_hits_total') ?? -1;
          const misses0 = sample(before, 'redis_keyspace_misses_total') ?? -1;
          await c.set(key, 'v');
          for (let i = 0; i < 3; i++) await c.get(key);
          // The same hash slot as key ({k3} hashes k3).
          await c.get(`{${key}}:missing`);
          const text = await scrape(e);
          expect(sample(text, 'redis_up')).to.equal(1);
          for (const f of REDIS_FAMILIES) expect(text).to.include(`# TYPE ${f.name} ${f.type}\n`);
          expect(sample(text, 'redis_keyspace_hits_total')! - hits0).to.equal(3);
          expect(sample(text, 'redis_keyspace_misses_total')! - misses0).to.equal(1);
          expect(sample(text, 'redis_memory_used_bytes')).to.be.greaterThan(100_000);
          expect(sample(text, 'redis_connected_clients')).to.be.at.least(2);
          expect(sample(text, 'redis_instance_is_master')).to.equal(1);
          expect(sample(text, 'redis_db_keys{db="db0"}')).to.be.at.least(1);
          expect(sample(text, 'redis_cluster_enabled')).to.equal(mode === 'cluster' ? 1 : 0);
          if (mode === 'cluster') expect(sample(text, 'redis_cluster_state')).to.equal(1);
          else expect(sample(text, 'redis_cluster_state')).to.equal(undefined);
        } finally {
          c.disconnect();
        }
      });

      it('says redis_up 0 while the node is down', async () => {
        await redis.kill();
        try {
          const text = await scrape(e);
          expect(sample(text, 'redis_up')).to.equal(0);
          expect(text).to.not.match(/^redis_memory_used_bytes /m);
        } finally {
          await redis.restart();
        }
      });
    });
  }
});
