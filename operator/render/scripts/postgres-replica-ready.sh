#!/bin/sh
# graminsta read replica readiness probe: ready while this standby's reads are not staler than a bound.
# Use it as the replica container's readinessProbe:
#   exec: {command: ["sh", "/scripts/postgres-replica-ready.sh"]}
# Exit 0 = ready; 1 = not ready, the reason on stderr (the kubelet shows it in the pod's Events).
# env:
#   POSTGRES_BIN_DIR                  default (empty: binaries from PATH)  directory holding pg_isready and psql
#   POSTGRES_PORT                     default 5432                         port this replica listens on
#   POSTGRES_SOCKET_DIR               default /tmp                         its unix socket directory (peer authentication as the superuser)
#   POSTGRES_PRIMARY_HOST             required                             the primary (the <app>-db-rw Service)
#   POSTGRES_PRIMARY_PORT             default 5432                         the primary's port
#   POSTGRES_REPLICATION_USER         default replicator                   the role pg_isready names when it asks the primary
#   POSTGRES_MAX_REPLICA_LAG_SECONDS  default 30                           not ready while replay is further behind than this
# mounts:
#   POSTGRES_SOCKET_DIR   the replica's own socket directory (the /tmp emptyDir of its container)
# Rules, in order:
# - postgres must accept connections;
# - replay must be within the bound: 0 when everything received is replayed, otherwise the age of the
#   last replayed transaction (of the server's start when none was replayed since);
# - the WAL receiver must be streaming, unless the primary itself does not answer: then there is nothing
#   newer to lag behind, and this replica keeps serving what it has (reads survive the primary's loss).
#   A replica cut off from a primary that is up (its slot dropped, WAL it needs removed) is not ready.
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${0%/*}/lib.sh"

POSTGRES_BIN_DIR="${POSTGRES_BIN_DIR:-}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
POSTGRES_SOCKET_DIR="${POSTGRES_SOCKET_DIR:-/tmp}"
POSTGRES_PRIMARY_HOST="${POSTGRES_PRIMARY_HOST:-}"
POSTGRES_PRIMARY_PORT="${POSTGRES_PRIMARY_PORT:-5432}"
POSTGRES_REPLICATION_USER="${POSTGRES_REPLICATION_USER:-replicator}"
POSTGRES_MAX_REPLICA_LAG_SECONDS="${POSTGRES_MAX_REPLICA_LAG_SECONDS:-30}"

use_bin_dir "$POSTGRES_BIN_DIR"
number POSTGRES_PORT "$POSTGRES_PORT"
number POSTGRES_PRIMARY_PORT "$POSTGRES_PRIMARY_PORT"
number POSTGRES_MAX_REPLICA_LAG_SECONDS "$POSTGRES_MAX_REPLICA_LAG_SECONDS"
[ -n "$POSTGRES_PRIMARY_HOST" ] || fail "POSTGRES_PRIMARY_HOST is required"

pg_isready -q -t 3 -h "$POSTGRES_SOCKET_DIR" -p "$POSTGRES_PORT" || fail "postgres does not accept connections"

# One row: the WAL receiver's status (none without one) and the replay lag in whole seconds.
row=$(psql -X -A -t -q -h "$POSTGRES_SOCKET_DIR" -p "$POSTGRES_PORT" -d postgres -c "
  SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none') || ' ' ||
    CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
         ELSE floor(extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time())))::bigint END") \
  || fail "could not read the replication state"
receiver=${row%% *}
lag=${row#* }
number "replay lag" "$lag"
[ "$lag" -le "$POSTGRES_MAX_REPLICA_LAG_SECONDS" ] \
  || fail "replay is ${lag}s behind, more than POSTGRES_MAX_REPLICA_LAG_SECONDS=$POSTGRES_MAX_REPLICA_LAG_SECONDS"
[ "$receiver" = streaming ] && exit 0
if pg_isready -q -t 2 -h "$POSTGRES_PRIMARY_HOST" -p "$POSTGRES_PRIMARY_PORT" -U "$POSTGRES_REPLICATION_USER" -d postgres; then
  fail "not streaming from the primary, which answers (WAL receiver: $receiver)"
fi
exit 0
