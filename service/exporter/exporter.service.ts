// The metrics sidecar of Postgres and Redis pods: reads the server's statistics at each scrape and prints them as
// Prometheus text under the names postgres_exporter and redis_exporter use (docs/monitoring.md lists them). A series
// the server has no value for is left out (a primary has no replay lag; a server that is down has only `up` 0),
// which prom-client's gauges cannot do: an unlabelled one always prints a value.
import type { PostgresStats } from './postgres-stats.repository.js';
import type { RedisInfoText } from './redis-info.repository.js';

/** One metric family the exporter prints. */
export interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
}

/** A sample of a family. */
type Sample = { labels?: Record<string, string>; value: number };

/** What the metrics listener serves: the text of one scrape and its content type. */
export interface Exporter {
  families: readonly Family[];
  contentType: string;
  /** Reads the server once and renders every family; a failed read gives the `up` gauge 0 and no other sample. */
  metrics: () => Promise<string>;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** The text exposition of families with their samples (HELP and TYPE always, samples only where there are). */
export function exposition(families: readonly Family[], samples: ReadonlyMap<string, Sample[]>): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of samples.get(f.name) ?? []) {
      const labels = Object.entries(s.labels ?? {});
      const l = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
      out.push(`${f.name}${l} ${Number.isFinite(s.value) ? s.value : 'NaN'}`);
    }
  }
  return out.join('\n') + '\n';
}

function exporter(families: Family[], collect: () => Promise<Map<string, Sample[]>>, upName: string): Exporter {
  return {
    families,
    contentType: CONTENT_TYPE,
    async metrics() {
      let samples: Map<string, Sample[]>;
      try {
        samples = await collect();
        samples.set(upName, [{ value: 1 }]);
      } catch {
        samples = new Map([[upName, [{ value: 0 }]]]);
      }
      return exposition(families, samples);
    },
  };
}

const g = (name: string, help: string): Family => ({ name, help, type: 'gauge' });
const c = (name: string, help: string): Family => ({ name, help, type: 'counter' });

/** The families of the Postgres exporter. */
export const POSTGRES_FAMILIES: readonly Family[] = [
  g('pg_up', 'Whether the last scrape could read the Postgres server (1) or not (0)'),
  g('pg_replication_is_replica', 'Whether the server is a standby in recovery (1) or a primary (0)'),
  g('pg_settings_max_connections', 'The server setting max_connections'),
  g('pg_stat_activity_count', 'Client connections by database and state (pg_stat_activity)'),
  g('pg_database_size_bytes', 'Size of each database on disk (pg_database_size)'),
  g('pg_replication_lag_seconds', 'On a standby: seconds since the last replayed transaction was committed on the primary; 0 while all received WAL is replayed'),
  g('pg_stat_wal_receiver_streaming', 'On a standby: whether its WAL receiver streams from the primary (1) or not (0)'),
  g('pg_stat_replication_replay_lag_seconds', 'On a primary: replay lag of each standby (pg_stat_replication.replay_lag)'),
  g('pg_stat_replication_lag_bytes', 'On a primary: WAL bytes each standby has not replayed yet'),
];

/** The Postgres exporter over `read` (one snapshot per scrape). */
export function postgresExporter(read: () => Promise<PostgresStats>): Exporter {
  return exporter(
    [...POSTGRES_FAMILIES],
    async () => {
      const s = await read();
      const m = new Map<string, Sample[]>();
      m.set('pg_replication_is_replica', [{ value: s.isReplica ? 1 : 0 }]);
      m.set('pg_settings_max_connections', [{ value: s.maxConnections }]);
      m.set('pg_stat_activity_count', s.connections.map((x) => ({ labels: { datname: x.datname, state: x.state }, value: x.count })));
      m.set('pg_database_size_bytes', s.databaseSizes.map((d) => ({ labels: { datname: d.datname }, value: d.bytes })));
      if (s.replicationLagSeconds !== null) m.set('pg_replication_lag_seconds', [{ value: s.replicationLagSeconds }]);
      if (s.walReceiverStreaming !== null) m.set('pg_stat_wal_receiver_streaming', [{ value: s.walReceiverStreaming ? 1 : 0 }]);
      const standby = (b: PostgresStats['standbys'][number]) => ({ application_name: b.applicationName, client_addr: b.clientAddr, state: b.state });
      m.set('pg_stat_replication_replay_lag_seconds', s.standbys.map((b) => ({ labels: standby(b), value: b.replayLagSeconds })));
      m.set('pg_stat_replication_lag_bytes', s.standbys.map((b) => ({ labels: standby(b), value: b.replayLagBytes })));
      return m;
    },
    'pg_up',
  );
}

/** The `key:value` fields of an INFO reply (section headers and blank lines skipped). */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/** The Redis families that copy one INFO field, by field. */
const INFO_FIELDS: Record<string, Family> = {
  connected_clients: g('redis_connected_clients', 'Client connections (INFO connected_clients)'),
  used_memory: g('redis_memory_used_bytes', 'Memory Redis has allocated (INFO used_memory)'),
  maxmemory: g('redis_memory_max_bytes', 'The maxmemory setting; 0: no limit (INFO maxmemory)'),
  connected_slaves: g('redis_connected_slaves', 'Replicas connected to this node (INFO connected_slaves)'),
  keyspace_hits: c('redis_keyspace_hits_total', 'Successful key lookups (INFO keyspace_hits)'),
  keyspace_misses: c('redis_keyspace_misses_total', 'Key lookups that found nothing (INFO keyspace_misses)'),
  evicted_keys: c('redis_evicted_keys_total', 'Keys evicted because of maxmemory (INFO evicted_keys)'),
  expired_keys: c('redis_expired_keys_total', 'Keys removed because their TTL ran out (INFO expired_keys)'),
  total_commands_processed: c('redis_commands_processed_total', 'Commands the server processed (INFO total_commands_processed)'),
};

/** The families of the Redis exporter. */
export const REDIS_FAMILIES: readonly Family[] = [
  g('redis_up', 'Whether the last scrape could read the Redis server (1) or not (0)'),
  ...Object.values(INFO_FIELDS),
  g('redis_instance_is_master', 'Whether the node is a master (1) or a replica (0) (INFO role)'),
  g('redis_master_link_up', 'On a replica: whether its link to the master is up (INFO master_link_status)'),
  g('redis_db_keys', 'Keys per database (INFO keyspace)'),
  g('redis_cluster_enabled', 'Whether the node runs in cluster mode (INFO cluster_enabled)'),
  g('redis_cluster_state', 'On a cluster node: whether the cluster state is ok (1) or fail (0) (CLUSTER INFO cluster_state)'),
];

/** The Redis exporter over `read` (one INFO per scrape). */
export function redisExporter(read: () => Promise<RedisInfoText>): Exporter {
  return exporter(
    [...REDIS_FAMILIES],
    async () => {
      const text = await read();
      const info = parseInfo(text.info);
      const m = new Map<string, Sample[]>();
      for (const [field, family] of Object.entries(INFO_FIELDS)) {
        const v = Number(info.get(field));
        if (info.has(field) && Number.isFinite(v)) m.set(family.name, [{ value: v }]);
      }
      const role = info.get('role');
      if (role) m.set('redis_instance_is_master', [{ value: role === 'master' ? 1 : 0 }]);
      if (role === 'slave') m.set('redis_master_link_up', [{ value: info.get('master_link_status') === 'up' ? 1 : 0 }]);
      const keys: Sample[] = [];
      for (const [k, v] of info) {
        const db = /^db\d+$/.exec(k);
        const n = /(?:^|,)keys=(\d+)/.exec(v);
        if (db && n) keys.push({ labels: { db: k }, value: Number(n[1]) });
      }
      m.set('redis_db_keys', keys);
      m.set('redis_cluster_enabled', [{ value: info.get('cluster_enabled') === '1' ? 1 : 0 }]);
      if (text.clusterInfo !== null) m.set('redis_cluster_state', [{ value: parseInfo(text.clusterInfo).get('cluster_state') === 'ok' ? 1 : 0 }]);
      return m;
    },
    'redis_up',
  );
}
