// Reads the statistics the Postgres exporter exposes: role, connections, database sizes and replication lag.
import type { Queryable } from '../db/database.js';

/** One streaming standby as the primary sees it (pg_stat_replication). */
export interface StandbyStat {
  applicationName: string;
  clientAddr: string;
  state: string;
  /** Seconds between a commit on the primary and its replay on the standby (replay_lag; 0 once caught up and idle). */
  replayLagSeconds: number;
  /** WAL bytes the standby has not replayed yet. */
  replayLagBytes: number;
}

/** A snapshot of one Postgres server. */
export interface PostgresStats {
  isReplica: boolean;
  maxConnections: number;
  /** Client connections by database and state (pg_stat_activity). */
  connections: { datname: string; state: string; count: number }[];
  databaseSizes: { datname: string; bytes: number }[];
  /** On a replica: seconds since the last replayed transaction was committed on the primary, 0 when all received WAL is replayed. */
  replicationLagSeconds: number | null;
  /** On a replica: 1 while the WAL receiver streams from the primary. */
  walReceiverStreaming: boolean | null;
  /** On a primary: its standbys. */
  standbys: StandbyStat[];
}

/** Reads one snapshot; the role needs pg_monitor (the operator grants it to the app role) for other sessions' states and the standbys' lag. */
export async function readPostgresStats(db: Queryable): Promise<PostgresStats> {
  const role = await db.query<{ in_recovery: boolean; max_connections: number }>("SELECT pg_is_in_recovery() AS in_recovery, current_setting('max_connections')::int AS max_connections");
  const isReplica = role.rows[0]!.in_recovery;
  const [connections, sizes] = await Promise.all([
    db.query<{ datname: string; state: string; n: number }>(
      "SELECT COALESCE(datname, '') AS datname, COALESCE(state, 'unknown') AS state, count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2 ORDER BY 1, 2",
    ),
    db.query<{ datname: string; bytes: string }>('SELECT datname, pg_database_size(datname)::text AS bytes FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname'),
  ]);
  let replicationLagSeconds: number | null = null;
  let walReceiverStreaming: boolean | null = null;
  let standbys: StandbyStat[] = [];
  if (isReplica) {
    const lag = await db.query<{ lag: number; streaming: boolean }>(
      `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                   ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8 AS lag,
              COALESCE((SELECT status = 'streaming' FROM pg_stat_wal_receiver), false) AS streaming`,
    );
    replicationLagSeconds = Math.max(0, lag.rows[0]!.lag);
    walReceiverStreaming = lag.rows[0]!.streaming;
  } else {
    const rows = await db.query<{ application_name: string; client_addr: string; state: string; replay_lag: number; lag_bytes: string }>(
      `SELECT application_name, COALESCE(host(client_addr), '') AS client_addr, COALESCE(state, '') AS state,
              COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float8 AS replay_lag,
              COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::text AS lag_bytes
         FROM pg_stat_replication ORDER BY application_name, client_addr`,
    );
    standbys = rows.rows.map((r) => ({ applicationName: r.application_name, clientAddr: r.client_addr, state: r.state, replayLagSeconds: r.replay_lag, replayLagBytes: Number(r.lag_bytes) }));
  }
  return {
    isReplica,
    maxConnections: role.rows[0]!.max_connections,
    connections: connections.rows.map((r) => ({ datname: r.datname, state: r.state, count: r.n })),
    databaseSizes: sizes.rows.map((r) => ({ datname: r.datname, bytes: Number(r.bytes) })),
    replicationLagSeconds,
    walReceiverStreaming,
    standbys,
  };
}
