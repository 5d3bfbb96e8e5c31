#!/bin/sh
# graminsta postgres primary entrypoint: initialises PGDATA on first start, applies roles and passwords on every start, then runs postgres.
# Use it as the container command (it replaces the image's docker-entrypoint.sh):
#   command: ["sh", "/scripts/postgres-primary.sh"]   extra arguments are passed on to postgres
# env:
#   PGDATA                          default /var/lib/postgresql/data/pgdata  data directory; a subdirectory of the data volume
#   POSTGRES_BIN_DIR                default (empty: binaries from PATH)       directory holding initdb, pg_isready, psql (15 or later), postgres
#   POSTGRES_PORT                   default 5432                              port postgres listens on
#   POSTGRES_LISTEN_ADDRESSES       default *                                 listen_addresses
#   POSTGRES_SOCKET_DIR             default /tmp                              unix socket directory (must be writable)
#   POSTGRES_DB                     default graminsta                         application database, owned by the application user
#   POSTGRES_APP_USER               default graminsta                         application role (LOGIN)
#   POSTGRES_APP_PASSWORD           required (Secret)                         application role's password
#   POSTGRES_APP_PASSWORD_FILE      default (empty)                           a file holding POSTGRES_APP_PASSWORD (the Secret key mounted as a volume); set one of the two
#   POSTGRES_REPLICATION_USER       default replicator                        role replicas stream with (REPLICATION LOGIN)
#   POSTGRES_REPLICATION_PASSWORD   required (Secret)                         replication role's password
#   POSTGRES_REPLICATION_PASSWORD_FILE default (empty)                           a file holding POSTGRES_REPLICATION_PASSWORD (the Secret key mounted as a volume); set one of the two
#   POSTGRES_SUPERUSER_PASSWORD     default (empty: no password)              password of the superuser (the OS user, postgres); without it the superuser can only log in over the unix socket (peer)
#   POSTGRES_SUPERUSER_PASSWORD_FILE default (empty)                           a file holding POSTGRES_SUPERUSER_PASSWORD (the Secret key mounted as a volume); set one of the two
#   POSTGRES_ALLOWED_CIDRS          default "0.0.0.0/0 ::/0"                  space-separated networks allowed to connect over TCP (scram-sha-256), e.g. the pod CIDR
#   POSTGRES_TLS_CERT_FILE          default (empty: no TLS)                   the server certificate (PEM; a Secret key mounted as a file): with it, TCP clients must use TLS (hostssl)
#   POSTGRES_TLS_KEY_FILE           default (empty)                           its private key (root-owned 0440 or 0640 with the postgres group, or owned by postgres 0600)
#   POSTGRES_TLS_CA_FILE            default (empty)                           the CA certificate that signed it; the three TLS files are set together
#   POSTGRES_TLS_CHECK_SECONDS      default 10                                time between two checks of the TLS files; a change reloads postgres (SIGHUP)
#   POSTGRES_MAX_WAL_SENDERS        default 10                                max_wal_senders and max_replication_slots (>= readReplicas + 2); raised on start, never lowered
#   POSTGRES_MAX_SLOT_WAL_KEEP_SIZE default 2GB                               max_slot_wal_keep_size: WAL kept for a lagging or absent replica before its slot is given up
#   POSTGRES_REPLICA_SLOT_PREFIX    default (empty: never drop a slot)        slots named with this prefix belong to the app's replicas: one inactive and not listed in POSTGRES_REPLICA_SLOTS_PATH is dropped
#   POSTGRES_REPLICA_SLOTS_PATH     default (empty)                           file naming the slots of the replicas that exist (whitespace-separated), read at every check: a ConfigMap key, so it changes without a restart
#   POSTGRES_SLOT_CHECK_SECONDS     default 60                                time between two checks of the slots
#   POSTGRES_RESTORE_DIR            default (empty: never restore)            where the restore container left a backup (restore.pgdump, named in restore.name): a new cluster loads it before it serves; an existing one is never touched
#   POSTGRES_SLOT_DROP_AFTER_SECONDS default 300                              a slot is dropped only after it was inactive and unlisted at every check for this long (a ConfigMap reaches the pod late)
# mounts:
#   dirname of PGDATA   the data volume (PersistentVolumeClaim), writable by the container's uid (999 in the image)
#   /tmp                emptyDir (unix socket, the slot checks' state; the root filesystem is read-only)
#   POSTGRES_REPLICA_SLOTS_PATH   the scripts ConfigMap (key replica-slots)
# A new cluster with POSTGRES_RESTORE_DIR set loads restore.pgdump into the application database (pg_restore, as
# the application role) before it is moved into place; once it is, the dump is deleted and restore.name becomes
# restored-from. A failed restore leaves no PGDATA, so the next start tries again; a missing dump is an error.
# On every start, before postgres listens on TCP, a temporary server on the unix socket only sets
# the passwords of the application and replication roles (and the superuser's, when given) from the
# environment, creating missing roles, and raises max_wal_senders and max_replication_slots to
# POSTGRES_MAX_WAL_SENDERS (never lowers them); pg_hba.conf is rewritten (lib.sh write_hba). With the TLS
# files postgres serves TLS (ssl=on) and reloads when they change.
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
POSTGRES_DB="${POSTGRES_DB:-graminsta}"
POSTGRES_APP_USER="${POSTGRES_APP_USER:-graminsta}"
POSTGRES_APP_PASSWORD=$(secret_value POSTGRES_APP_PASSWORD "${POSTGRES_APP_PASSWORD:-}" "${POSTGRES_APP_PASSWORD_FILE:-}")
POSTGRES_REPLICATION_USER="${POSTGRES_REPLICATION_USER:-replicator}"
POSTGRES_REPLICATION_PASSWORD=$(secret_value POSTGRES_REPLICATION_PASSWORD "${POSTGRES_REPLICATION_PASSWORD:-}" "${POSTGRES_REPLICATION_PASSWORD_FILE:-}")
POSTGRES_SUPERUSER_PASSWORD=$(secret_value POSTGRES_SUPERUSER_PASSWORD "${POSTGRES_SUPERUSER_PASSWORD:-}" "${POSTGRES_SUPERUSER_PASSWORD_FILE:-}")
POSTGRES_ALLOWED_CIDRS="${POSTGRES_ALLOWED_CIDRS:-0.0.0.0/0 ::/0}"
POSTGRES_MAX_WAL_SENDERS="${POSTGRES_MAX_WAL_SENDERS:-10}"
POSTGRES_MAX_SLOT_WAL_KEEP_SIZE="${POSTGRES_MAX_SLOT_WAL_KEEP_SIZE:-2GB}"
POSTGRES_REPLICA_SLOT_PREFIX="${POSTGRES_REPLICA_SLOT_PREFIX:-}"
POSTGRES_REPLICA_SLOTS_PATH="${POSTGRES_REPLICA_SLOTS_PATH:-}"
POSTGRES_SLOT_CHECK_SECONDS="${POSTGRES_SLOT_CHECK_SECONDS:-60}"
POSTGRES_SLOT_DROP_AFTER_SECONDS="${POSTGRES_SLOT_DROP_AFTER_SECONDS:-300}"
POSTGRES_RESTORE_DIR="${POSTGRES_RESTORE_DIR:-}"
POSTGRES_TLS_CHECK_SECONDS="${POSTGRES_TLS_CHECK_SECONDS:-10}"

use_bin_dir "$POSTGRES_BIN_DIR"


number POSTGRES_PORT "$POSTGRES_PORT"
number POSTGRES_MAX_WAL_SENDERS "$POSTGRES_MAX_WAL_SENDERS"
number POSTGRES_SLOT_CHECK_SECONDS "$POSTGRES_SLOT_CHECK_SECONDS"
number POSTGRES_SLOT_DROP_AFTER_SECONDS "$POSTGRES_SLOT_DROP_AFTER_SECONDS"
number POSTGRES_TLS_CHECK_SECONDS "$POSTGRES_TLS_CHECK_SECONDS"
postgres_tls "${POSTGRES_TLS_CERT_FILE:-}" "${POSTGRES_TLS_KEY_FILE:-}" "${POSTGRES_TLS_CA_FILE:-}"
case "$POSTGRES_REPLICA_SLOT_PREFIX" in
  *[!a-z0-9_]*) fail "POSTGRES_REPLICA_SLOT_PREFIX must be lower-case letters, digits and _, got '$POSTGRES_REPLICA_SLOT_PREFIX'" ;;
esac
[ -n "$POSTGRES_APP_PASSWORD" ] || fail "POSTGRES_APP_PASSWORD (or POSTGRES_APP_PASSWORD_FILE) is required"
[ -n "$POSTGRES_REPLICATION_PASSWORD" ] || fail "POSTGRES_REPLICATION_PASSWORD (or POSTGRES_REPLICATION_PASSWORD_FILE) is required"
# psql reads the passwords from its environment (\getenv), so they never appear in a command line.
export POSTGRES_APP_PASSWORD POSTGRES_REPLICATION_PASSWORD POSTGRES_SUPERUSER_PASSWORD
supervise INT

# initdb_staging: initialises a new cluster into $staging, with the replication settings.
initdb_staging() {
  staging="$PGDATA.initialising"
  # A start that died half-way left only the staging directory: PGDATA appears only when complete.
  rm -rf "$staging"
  log "initialising a new cluster in $PGDATA"
  initdb -D "$staging" --encoding=UTF8 --locale=C --auth-local=peer --auth-host=scram-sha-256 >&2 \
    || fail "initdb failed"

  cat >> "$staging/postgresql.conf" <<CONF

# graminsta: streaming replication (replicas copy this file with pg_basebackup)
wal_level = replica
max_wal_senders = $POSTGRES_MAX_WAL_SENDERS
max_replication_slots = $POSTGRES_MAX_WAL_SENDERS
max_slot_wal_keep_size = '$POSTGRES_MAX_SLOT_WAL_KEEP_SIZE'
wal_keep_size = '128MB'
hot_standby = on
hot_standby_feedback = on
password_encryption = 'scram-sha-256'
CONF
}

# stop_if_asked: ends the script (status 0) when a stop signal arrived before postgres was serving.
stop_if_asked() {
  [ -n "$stop_signal" ] || return 0
  if [ -n "$server_pid" ]; then wait_server || true; fi
  log "received SIG$stop_signal before serving; exiting"
  exit 0
}

# start_local DIR [POSTGRES ARGS...]: starts the cluster in DIR on the unix socket only, and waits
# until it accepts connections. Statements are never logged: they carry passwords.
start_local() {
  dir="$1"
  shift
  start_server postgres -D "$dir" "$@" -c port="$POSTGRES_PORT" -c listen_addresses= \
    -c unix_socket_directories="$POSTGRES_SOCKET_DIR" \
    -c log_statement=none -c log_min_error_statement=panic -c log_min_duration_statement=-1
  until pg_isready -q -h "$POSTGRES_SOCKET_DIR" -p "$POSTGRES_PORT" -d postgres; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      status=0
      wait_server || status=$?
      stop_if_asked
      fail "the temporary server exited with status $status before accepting connections"
    fi
    sleep 0.1
  done
}

# stop_local: fast shutdown of the temporary server.
stop_local() {
  kill -s INT "$server_pid"
  wait_server || fail "the temporary server did not stop cleanly"
}

# local_psql: psql over the unix socket as the superuser, stopping at the first error, with
# the names, the wanted setting and whether to set the superuser's password as psql variables.
local_psql() {
  set_superuser=off
  [ -z "$POSTGRES_SUPERUSER_PASSWORD" ] || set_superuser=on
  psql -v ON_ERROR_STOP=1 -X -q -h "$POSTGRES_SOCKET_DIR" -p "$POSTGRES_PORT" -d postgres \
    -v app_user="$POSTGRES_APP_USER" -v db="$POSTGRES_DB" -v repl_user="$POSTGRES_REPLICATION_USER" \
    -v set_superuser="$set_superuser" -v max_wal_senders="$POSTGRES_MAX_WAL_SENDERS" \
    -v max_slot_wal_keep_size="$POSTGRES_MAX_SLOT_WAL_KEEP_SIZE" >&2
}

# local_sql_failed WHAT: stops the temporary server and fails (or just exits when a stop signal
# interrupted it).
local_sql_failed() {
  stop_if_asked
  kill -s QUIT "$server_pid" 2>/dev/null || true
  wait_server || true
  fail "could not $1"
}

# Roles and passwords from the environment (roles created when missing; the app role in pg_monitor), max_wal_senders and
# max_replication_slots raised to POSTGRES_MAX_WAL_SENDERS (never lowered: replicas may use them),
# and max_slot_wal_keep_size set to POSTGRES_MAX_SLOT_WAL_KEEP_SIZE (it follows the volume's size).
converge_sql=$(cat <<'SQL'
\getenv app_password POSTGRES_APP_PASSWORD
\getenv repl_password POSTGRES_REPLICATION_PASSWORD
SELECT format('CREATE ROLE %I', :'repl_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'repl_user') \gexec
ALTER ROLE :"repl_user" WITH REPLICATION LOGIN PASSWORD :'repl_password';
SELECT format('CREATE ROLE %I', :'app_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';
-- Read-only statistics for the metrics sidecar (spec.monitoring), which logs in as the app role: other sessions'
-- states and the standbys' replay lag in pg_stat_replication are visible to members of pg_monitor only.
GRANT pg_monitor TO :"app_user";
\if :set_superuser
\getenv superuser_password POSTGRES_SUPERUSER_PASSWORD
ALTER ROLE CURRENT_USER WITH PASSWORD :'superuser_password';
\endif
SELECT format('ALTER SYSTEM SET %I = %L', name, :'max_wal_senders') FROM pg_settings
  WHERE name IN ('max_wal_senders', 'max_replication_slots') AND setting::int < :'max_wal_senders'::int \gexec
ALTER SYSTEM SET max_slot_wal_keep_size = :'max_slot_wal_keep_size';
SQL
)

# The application database, created once.
create_database_sql=$(cat <<'SQL'
CREATE DATABASE :"db" OWNER :"app_user";
\connect :"db"
ALTER SCHEMA public OWNER TO :"app_user";
SQL
)

if [ -s "$PGDATA/PG_VERSION" ]; then
  log "using existing cluster in $PGDATA"
  datadir="$PGDATA"
else
  initdb_staging
  datadir="$staging"
fi
write_hba "$datadir" "$POSTGRES_REPLICATION_USER" "$POSTGRES_ALLOWED_CIDRS"
# The temporary server too, so that a certificate or key postgres refuses fails before clients are let in.
[ "$tls" = off ] || set -- -c ssl=on -c "ssl_cert_file=$POSTGRES_TLS_CERT_FILE" -c "ssl_key_file=$POSTGRES_TLS_KEY_FILE" "$@"
log "setting roles, passwords and replication limits"
start_local "$datadir" "$@"
printf '%s\n' "$converge_sql" | local_psql || local_sql_failed "set roles and passwords"
if [ "$datadir" != "$PGDATA" ]; then
  log "creating the application database"
  printf '%s\n' "$create_database_sql" | local_psql || local_sql_failed "create the application database"
  if [ -n "$POSTGRES_RESTORE_DIR" ]; then
    [ -s "$POSTGRES_RESTORE_DIR/restore.pgdump" ] || local_sql_failed "restore: $POSTGRES_RESTORE_DIR/restore.pgdump is missing (the restore container fetches it)"
    log "restoring backup $(cat "$POSTGRES_RESTORE_DIR/restore.name" 2>/dev/null || echo '?') into $POSTGRES_DB"
    restore_started=$(date +%s)
    pg_restore --exit-on-error --no-owner --no-privileges --role="$POSTGRES_APP_USER" \
      -h "$POSTGRES_SOCKET_DIR" -p "$POSTGRES_PORT" -d "$POSTGRES_DB" "$POSTGRES_RESTORE_DIR/restore.pgdump" >&2 \
      || local_sql_failed "restore the backup into $POSTGRES_DB (pg_restore failed)"
    log "restored in $(( $(date +%s) - restore_started ))s"
  fi
fi
stop_local
stop_if_asked
if [ "$datadir" != "$PGDATA" ]; then
  if [ -d "$PGDATA" ]; then rmdir "$PGDATA" || fail "$PGDATA exists but is not an empty directory"; fi
  mv "$staging" "$PGDATA"
  log "initialised $PGDATA"
  if [ -n "$POSTGRES_RESTORE_DIR" ]; then
    mv "$POSTGRES_RESTORE_DIR/restore.name" "$POSTGRES_RESTORE_DIR/restored-from" 2>/dev/null || true
    rm -f "$POSTGRES_RESTORE_DIR/restore.pgdump"
  fi
fi

# Slots of replicas that are gone hold WAL until max_slot_wal_keep_size: drop_stale_slots drops, at each
# check, the inactive slots named with POSTGRES_REPLICA_SLOT_PREFIX that POSTGRES_REPLICA_SLOTS_PATH does not
# list and that were so at every check for POSTGRES_SLOT_DROP_AFTER_SECONDS (a replica between its clone and its
# first stream, or a file the kubelet has not refreshed yet, is not dropped). Other slots are never touched.
slot_state="$POSTGRES_SOCKET_DIR/.graminsta-stale-slots"
drop_stale_slots() {
  [ -r "$POSTGRES_REPLICA_SLOTS_PATH" ] || { log "slot check: cannot read $POSTGRES_REPLICA_SLOTS_PATH; dropping nothing"; return 0; }
  keep=$(tr -s ' \t\n' ' ' < "$POSTGRES_REPLICA_SLOTS_PATH")
  now=$(date +%s)
  stale=$(psql -X -A -t -q -h "$POSTGRES_SOCKET_DIR" -p "$POSTGRES_PORT" -d postgres -v ON_ERROR_STOP=1 -v prefix="$POSTGRES_REPLICA_SLOT_PREFIX" -v keep="$keep" <<'SQL'
SELECT slot_name FROM pg_replication_slots
  WHERE slot_type = 'physical' AND NOT active AND starts_with(slot_name, :'prefix')
    AND slot_name <> ALL (string_to_array(trim(:'keep'), ' '))
SQL
  ) || { log "slot check: could not list the replication slots"; return 0; }
  # State: "name first-seen" of the slots stale at the previous check; a slot missing from one check starts again.
  next=""
  for slot in $stale; do
    since=$(awk -v s="$slot" '$1 == s { print $2 }' "$slot_state" 2>/dev/null || true)
    since="${since:-$now}"
    if [ $((now - since)) -ge "$POSTGRES_SLOT_DROP_AFTER_SECONDS" ]; then
      # psql interpolates :'slot' on standard input, not in -c.
      if echo "SELECT pg_drop_replication_slot(:'slot')" | psql -X -q -h "$POSTGRES_SOCKET_DIR" -p "$POSTGRES_PORT" -d postgres -v ON_ERROR_STOP=1 -v slot="$slot" >/dev/null 2>&1; then
        log "dropped replication slot $slot: no replica of that name exists (inactive for $((now - since))s)"
        continue
      fi
      log "slot check: could not drop $slot (in use again?); keeping it"
    fi
    next="$next$slot $since
"
  done
  printf '%s' "$next" > "$slot_state"
}

log "starting postgres on port $POSTGRES_PORT"
# The server needs none of the passwords: keep them out of its environment.
unset POSTGRES_APP_PASSWORD POSTGRES_REPLICATION_PASSWORD POSTGRES_SUPERUSER_PASSWORD
start_server postgres -D "$PGDATA" -c port="$POSTGRES_PORT" -c listen_addresses="$POSTGRES_LISTEN_ADDRESSES" \
  -c unix_socket_directories="$POSTGRES_SOCKET_DIR" "$@"
watch_tls "$POSTGRES_TLS_CHECK_SECONDS" "${POSTGRES_TLS_CERT_FILE:-}" "${POSTGRES_TLS_KEY_FILE:-}"
# A stop signal that arrived just before the start.
if [ -n "$stop_signal" ]; then kill -s INT "$server_pid" 2>/dev/null || true; fi
slot_checks=""
if [ -n "$POSTGRES_REPLICA_SLOT_PREFIX" ] && [ -n "$POSTGRES_REPLICA_SLOTS_PATH" ]; then
  rm -f "$slot_state"
  # In the background for as long as postgres runs; its own signals are the default ones.
  (trap - TERM INT QUIT HUP; while sleep "$POSTGRES_SLOT_CHECK_SECONDS"; do drop_stale_slots || log "slot check failed"; done) &
  slot_checks=$!
fi
status=0
wait_server || status=$?
if [ -n "$slot_checks" ]; then kill "$slot_checks" 2>/dev/null || true; fi
if [ -n "$tls_watch" ]; then kill "$tls_watch" 2>/dev/null || true; fi
log "postgres exited with status $status"
exit "$status"
