#!/bin/sh
# graminsta postgres read replica entrypoint: clones the primary on first start, then runs postgres as a hot standby.
# Use it as the container command (it replaces the image's docker-entrypoint.sh):
#   command: ["sh", "/scripts/postgres-replica.sh"]   extra arguments are passed on to postgres
# env:
#   PGDATA                            default /var/lib/postgresql/data/pgdata  data directory; a subdirectory of the data volume
#   POSTGRES_BIN_DIR                  default (empty: binaries from PATH)       directory holding pg_isready, pg_basebackup, psql, postgres
#   POSTGRES_PORT                     default 5432                              port this replica listens on
#   POSTGRES_LISTEN_ADDRESSES         default *                                 listen_addresses
#   POSTGRES_SOCKET_DIR               default /tmp                              unix socket directory and the replication passfile (must be writable)
#   POSTGRES_PRIMARY_HOST             required                                  the primary (the <app>-db-rw Service)
#   POSTGRES_PRIMARY_PORT             default 5432                              the primary's port
#   POSTGRES_REPLICATION_USER         default replicator                        role with REPLICATION created by the primary's script
#   POSTGRES_REPLICATION_PASSWORD     required (Secret)                         its password
#   POSTGRES_REPLICATION_PASSWORD_FILE default (empty)                           a file holding POSTGRES_REPLICATION_PASSWORD (the Secret key mounted as a volume); set one of the two
#   POSTGRES_REPLICATION_SLOT         default HOSTNAME with [^a-z0-9_] -> _     physical replication slot on the primary, one per replica
#   HOSTNAME                          set by Kubernetes (the pod name)          used for the default slot name
#   POSTGRES_WAIT_TIMEOUT_SECONDS     default 0 (wait forever)                  give up (exit 1) when the primary is not ready for this long
#   POSTGRES_WAIT_MAX_DELAY_SECONDS   default 30                                upper bound of the backoff between checks of the primary
#   POSTGRES_BASEBACKUP_ATTEMPTS      default 5                                 pg_basebackup attempts before exiting 1 (the kubelet restarts the container)
#   POSTGRES_MAX_WAL_SENDERS          default 0 (PGDATA's setting)              the primary's max_wal_senders: the replica runs with at least this many, as a hot standby must
#   POSTGRES_ALLOWED_CIDRS            default "0.0.0.0/0 ::/0"                  space-separated networks allowed to connect over TCP (scram-sha-256), e.g. the pod CIDR
#   POSTGRES_TLS_CERT_FILE            default (empty: no TLS)                   this replica's server certificate (PEM): with it, TCP clients must use TLS (hostssl)
#   POSTGRES_TLS_KEY_FILE             default (empty)                           its private key (root-owned 0440 or 0640 with the postgres group, or owned by postgres 0600)
#   POSTGRES_TLS_CA_FILE              default (empty)                           the CA certificate: the primary's certificate is verified with it (sslmode=verify-full, its name is POSTGRES_PRIMARY_HOST)
#   POSTGRES_TLS_CHECK_SECONDS        default 10                                time between two checks of the TLS files; a change reloads postgres (SIGHUP)
# mounts:
#   dirname of PGDATA   the data volume (PersistentVolumeClaim), writable by the container's uid (999 in the image)
#   /tmp                emptyDir (unix socket, replication passfile; the root filesystem is read-only)
# The connection to the primary is passed on the command line on every start, so a changed
# password or primary host applies after a restart; the password is never written to PGDATA. With the
# TLS files, the replica streams over TLS and verifies the primary (verify-full; libpq reads the CA file
# at every connection), serves TLS itself and reloads when the files change; pg_hba.conf is rewritten
# at every start (lib.sh write_hba), so a clone of the primary's does not decide who connects here.
# SIGTERM (the kubelet's stop) is passed on to postgres as SIGINT, a fast shutdown; the script exits
# with postgres' status.
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${0%/*}/lib.sh"

PGDATA="${PGDATA:-/var/lib/postgresql/data/pgdata}"
POSTGRES_BIN_DIR="${POSTGRES_BIN_DIR:-}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
POSTGRES_LISTEN_ADDRESSES="${POSTGRES_LISTEN_ADDRESSES:-*}"
POSTGRES_SOCKET_DIR="${POSTGRES_SOCKET_DIR:-/tmp}"
POSTGRES_PRIMARY_HOST="${POSTGRES_PRIMARY_HOST:-}"
POSTGRES_PRIMARY_PORT="${POSTGRES_PRIMARY_PORT:-5432}"
POSTGRES_REPLICATION_USER="${POSTGRES_REPLICATION_USER:-replicator}"
POSTGRES_REPLICATION_PASSWORD=$(secret_value POSTGRES_REPLICATION_PASSWORD "${POSTGRES_REPLICATION_PASSWORD:-}" "${POSTGRES_REPLICATION_PASSWORD_FILE:-}")
# HOSTNAME is the pod name (the kubelet sets it); slot names are ASCII on purpose.
# shellcheck disable=SC3028,SC2018,SC2019
POSTGRES_REPLICATION_SLOT="${POSTGRES_REPLICATION_SLOT:-$(printf '%s' "${HOSTNAME:-}" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_' '_')}"
POSTGRES_WAIT_TIMEOUT_SECONDS="${POSTGRES_WAIT_TIMEOUT_SECONDS:-0}"
POSTGRES_WAIT_MAX_DELAY_SECONDS="${POSTGRES_WAIT_MAX_DELAY_SECONDS:-30}"
POSTGRES_BASEBACKUP_ATTEMPTS="${POSTGRES_BASEBACKUP_ATTEMPTS:-5}"
POSTGRES_MAX_WAL_SENDERS="${POSTGRES_MAX_WAL_SENDERS:-0}"
POSTGRES_ALLOWED_CIDRS="${POSTGRES_ALLOWED_CIDRS:-0.0.0.0/0 ::/0}"
POSTGRES_TLS_CHECK_SECONDS="${POSTGRES_TLS_CHECK_SECONDS:-10}"

use_bin_dir "$POSTGRES_BIN_DIR"


number POSTGRES_PORT "$POSTGRES_PORT"
number POSTGRES_PRIMARY_PORT "$POSTGRES_PRIMARY_PORT"
number POSTGRES_WAIT_TIMEOUT_SECONDS "$POSTGRES_WAIT_TIMEOUT_SECONDS"
number POSTGRES_WAIT_MAX_DELAY_SECONDS "$POSTGRES_WAIT_MAX_DELAY_SECONDS"
number POSTGRES_BASEBACKUP_ATTEMPTS "$POSTGRES_BASEBACKUP_ATTEMPTS"
number POSTGRES_MAX_WAL_SENDERS "$POSTGRES_MAX_WAL_SENDERS"
number POSTGRES_TLS_CHECK_SECONDS "$POSTGRES_TLS_CHECK_SECONDS"
postgres_tls "${POSTGRES_TLS_CERT_FILE:-}" "${POSTGRES_TLS_KEY_FILE:-}" "${POSTGRES_TLS_CA_FILE:-}"
[ -n "$POSTGRES_PRIMARY_HOST" ] || fail "POSTGRES_PRIMARY_HOST is required"
[ -n "$POSTGRES_REPLICATION_PASSWORD" ] || fail "POSTGRES_REPLICATION_PASSWORD (or POSTGRES_REPLICATION_PASSWORD_FILE) is required"
case "$POSTGRES_REPLICATION_SLOT" in
  ''|*[!a-z0-9_]*) fail "POSTGRES_REPLICATION_SLOT must be lower-case letters, digits and _ (or set HOSTNAME), got '$POSTGRES_REPLICATION_SLOT'" ;;
esac
supervise INT

passfile="$POSTGRES_SOCKET_DIR/.replication.pgpass"
escaped_password=$(printf '%s' "$POSTGRES_REPLICATION_PASSWORD" | sed 's/[\\:]/\\&/g')
(umask 077; printf '*:*:*:*:%s\n' "$escaped_password" > "$passfile")
# From here on the passfile carries it; postgres and pg_basebackup need it in no environment.
unset POSTGRES_REPLICATION_PASSWORD escaped_password
conninfo="host=$POSTGRES_PRIMARY_HOST port=$POSTGRES_PRIMARY_PORT user=$POSTGRES_REPLICATION_USER passfile=$passfile application_name=$POSTGRES_REPLICATION_SLOT"
[ "$tls" = off ] || conninfo="$conninfo sslmode=verify-full sslrootcert=$POSTGRES_TLS_CA_FILE"

# primary_answers: true when the primary accepts connections (within 5 s).
primary_answers() {
  pg_isready -q -t 5 -h "$POSTGRES_PRIMARY_HOST" -p "$POSTGRES_PRIMARY_PORT" -U "$POSTGRES_REPLICATION_USER" -d postgres
}

wait_for_primary() {
  waited=0
  delay=1
  until primary_answers; do
    if [ "$POSTGRES_WAIT_TIMEOUT_SECONDS" -gt 0 ] && [ "$waited" -ge "$POSTGRES_WAIT_TIMEOUT_SECONDS" ]; then
      fail "primary $POSTGRES_PRIMARY_HOST:$POSTGRES_PRIMARY_PORT not ready after ${waited}s; giving up"
    fi
    log "waiting for primary $POSTGRES_PRIMARY_HOST:$POSTGRES_PRIMARY_PORT (not ready after ${waited}s, next check in ${delay}s)"
    backoff_sleep "$POSTGRES_WAIT_MAX_DELAY_SECONDS"
  done
  log "primary $POSTGRES_PRIMARY_HOST:$POSTGRES_PRIMARY_PORT is ready"
}

clone_primary() {
  staging="$PGDATA.cloning"
  attempt=1
  while :; do
    wait_for_primary
    rm -rf "$staging"
    # A slot left by an earlier clone of this replica (its volume was replaced) would make -C fail.
    psql -X -q "$conninfo dbname=replication replication=true" -c "DROP_REPLICATION_SLOT $POSTGRES_REPLICATION_SLOT" >/dev/null 2>&1 || true
    log "cloning the primary into $PGDATA with slot $POSTGRES_REPLICATION_SLOT (attempt $attempt of $POSTGRES_BASEBACKUP_ATTEMPTS)"
    if pg_basebackup -d "$conninfo" -D "$staging" -R -X stream -C -S "$POSTGRES_REPLICATION_SLOT" -c fast --no-password >&2; then
      break
    fi
    if [ "$attempt" -ge "$POSTGRES_BASEBACKUP_ATTEMPTS" ]; then
      rm -rf "$staging"
      fail "pg_basebackup failed $attempt times"
    fi
    log "pg_basebackup failed; retrying in $((attempt * 2))s"
    sleep $((attempt * 2))
    attempt=$((attempt + 1))
  done
  # -R wrote primary_conninfo; the command line below supplies it on every start instead.
  sed -i '/^primary_conninfo/d; /^primary_slot_name/d' "$staging/postgresql.auto.conf"
  if [ -d "$PGDATA" ]; then rmdir "$PGDATA" || fail "$PGDATA exists but is not an empty directory"; fi
  mv "$staging" "$PGDATA"
  log "cloned the primary into $PGDATA"
}

# slot_is_gone: true when the primary answers and has no usable slot of this replica (dropped while the
# replica was away, or invalidated past max_slot_wal_keep_size): the WAL this data needs may be gone with it.
# False when the primary does not answer (nothing can be known; keep the data and retry streaming).
slot_is_gone() {
  primary_answers || return 1
  # One row: slot_type|restart_lsn|restart_tli, all empty when the slot does not exist; no restart_lsn once invalidated.
  slot=$(psql -X -A -t -q "$conninfo dbname=replication replication=true" -c "READ_REPLICATION_SLOT $POSTGRES_REPLICATION_SLOT") || return 1
  restart_lsn=$(printf '%s' "$slot" | cut -d '|' -f 2)
  [ -z "$restart_lsn" ]
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  clone_primary
elif slot_is_gone; then
  log "the primary has no usable slot $POSTGRES_REPLICATION_SLOT (dropped or invalidated): cloning it again"
  rm -rf "$PGDATA"
  clone_primary
else
  log "using existing data in $PGDATA; resuming streaming from the primary"
fi
# This pod is always a standby: there is no failover, so never come up as a second primary.
touch "$PGDATA/standby.signal"
write_hba "$PGDATA" "$POSTGRES_REPLICATION_USER" "$POSTGRES_ALLOWED_CIDRS"

# A hot standby refuses to replay WAL from a primary with a higher max_wal_senders than its own (it
# pauses until restarted with enough), and the primary raises it when replicas are added: run with
# POSTGRES_MAX_WAL_SENDERS (the primary's) unless this data directory's own setting is higher.
wal_senders=$(postgres -D "$PGDATA" -C max_wal_senders)
number "max_wal_senders in $PGDATA" "$wal_senders"
[ "$POSTGRES_MAX_WAL_SENDERS" -le "$wal_senders" ] || wal_senders="$POSTGRES_MAX_WAL_SENDERS"

if [ -n "$stop_signal" ]; then log "received SIG$stop_signal before serving; exiting"; exit 0; fi

log "starting postgres as a hot standby on port $POSTGRES_PORT"
[ "$tls" = off ] || set -- -c ssl=on -c "ssl_cert_file=$POSTGRES_TLS_CERT_FILE" -c "ssl_key_file=$POSTGRES_TLS_KEY_FILE" "$@"
start_server postgres -D "$PGDATA" -c port="$POSTGRES_PORT" -c listen_addresses="$POSTGRES_LISTEN_ADDRESSES" \
  -c unix_socket_directories="$POSTGRES_SOCKET_DIR" -c hot_standby=on -c max_wal_senders="$wal_senders" \
  -c primary_conninfo="$conninfo" -c primary_slot_name="$POSTGRES_REPLICATION_SLOT" "$@"
watch_tls "$POSTGRES_TLS_CHECK_SECONDS" "${POSTGRES_TLS_CERT_FILE:-}" "${POSTGRES_TLS_KEY_FILE:-}"
# A stop signal that arrived just before the start.
if [ -n "$stop_signal" ]; then kill -s INT "$server_pid" 2>/dev/null || true; fi
status=0
wait_server || status=$?
if [ -n "$tls_watch" ]; then kill "$tls_watch" 2>/dev/null || true; fi
log "postgres exited with status $status"
exit "$status"
