// Postgres entrypoints shipped in the <app>-scripts ConfigMap; each script's header comment is its env and mount contract.
import { backoffSleepSh } from './backoff.scripts.js';

/** Container command of the primary: initialises PGDATA (roles, database, replication settings) on first start, then runs postgres. */
export const POSTGRES_PRIMARY_INIT_SH = `#!/bin/sh
# graminsta postgres primary entrypoint: initialises PGDATA on first start, then runs postgres.
# Use it as the container command (it replaces the image's docker-entrypoint.sh):
#   command: ["sh", "/scripts/postgres-primary.sh"]   extra arguments are passed on to postgres
# env:
#   PGDATA                          default /var/lib/postgresql/data/pgdata  data directory; a subdirectory of the data volume
#   POSTGRES_BIN_DIR                default (empty: binaries from PATH)       directory holding initdb, pg_ctl, psql, postgres
#   POSTGRES_PORT                   default 5432                              port postgres listens on
#   POSTGRES_LISTEN_ADDRESSES       default *                                 listen_addresses
#   POSTGRES_SOCKET_DIR             default /tmp                              unix socket directory (must be writable)
#   POSTGRES_DB                     default graminsta                         application database, owned by the application user
#   POSTGRES_APP_USER               default graminsta                         application role (LOGIN)
#   POSTGRES_APP_PASSWORD           required (Secret)                         application role's password
#   POSTGRES_REPLICATION_USER       default replicator                        role replicas stream with (REPLICATION LOGIN)
#   POSTGRES_REPLICATION_PASSWORD   required (Secret)                         replication role's password
#   POSTGRES_SUPERUSER_PASSWORD     default (empty: no password)              password of the superuser (the OS user, postgres); without it the superuser can only log in over the unix socket (peer)
#   POSTGRES_ALLOWED_CIDRS          default "0.0.0.0/0 ::/0"                  space-separated networks allowed to connect over TCP (scram-sha-256), e.g. the pod CIDR
#   POSTGRES_MAX_WAL_SENDERS        default 10                                max_wal_senders and max_replication_slots (>= readReplicas + 2)
#   POSTGRES_MAX_SLOT_WAL_KEEP_SIZE default 2GB                               max_slot_wal_keep_size: WAL kept for a lagging or absent replica before its slot is given up
# mounts:
#   dirname of PGDATA   the data volume (PersistentVolumeClaim), writable by the container's uid (999 in the image)
#   /tmp                emptyDir (unix socket; the root filesystem is read-only)
# Only settings in effect on first start are written into PGDATA; later changes to the roles or
# passwords are not applied by this script.
set -eu

PGDATA="\${PGDATA:-/var/lib/postgresql/data/pgdata}"
POSTGRES_BIN_DIR="\${POSTGRES_BIN_DIR:-}"
POSTGRES_PORT="\${POSTGRES_PORT:-5432}"
POSTGRES_LISTEN_ADDRESSES="\${POSTGRES_LISTEN_ADDRESSES:-*}"
POSTGRES_SOCKET_DIR="\${POSTGRES_SOCKET_DIR:-/tmp}"
POSTGRES_DB="\${POSTGRES_DB:-graminsta}"
POSTGRES_APP_USER="\${POSTGRES_APP_USER:-graminsta}"
POSTGRES_APP_PASSWORD="\${POSTGRES_APP_PASSWORD:-}"
POSTGRES_REPLICATION_USER="\${POSTGRES_REPLICATION_USER:-replicator}"
POSTGRES_REPLICATION_PASSWORD="\${POSTGRES_REPLICATION_PASSWORD:-}"
POSTGRES_SUPERUSER_PASSWORD="\${POSTGRES_SUPERUSER_PASSWORD:-}"
POSTGRES_ALLOWED_CIDRS="\${POSTGRES_ALLOWED_CIDRS:-0.0.0.0/0 ::/0}"
POSTGRES_MAX_WAL_SENDERS="\${POSTGRES_MAX_WAL_SENDERS:-10}"
POSTGRES_MAX_SLOT_WAL_KEEP_SIZE="\${POSTGRES_MAX_SLOT_WAL_KEEP_SIZE:-2GB}"

if [ -n "$POSTGRES_BIN_DIR" ]; then PATH="$POSTGRES_BIN_DIR:$PATH"; export PATH; fi

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) postgres-primary: $*" >&2; }
fail() { log "error: $*"; exit 1; }

case "$POSTGRES_PORT" in ''|*[!0-9]*) fail "POSTGRES_PORT must be a port number, got '$POSTGRES_PORT'" ;; esac
case "$POSTGRES_MAX_WAL_SENDERS" in ''|*[!0-9]*) fail "POSTGRES_MAX_WAL_SENDERS must be a number, got '$POSTGRES_MAX_WAL_SENDERS'" ;; esac

initialise() {
  [ -n "$POSTGRES_APP_PASSWORD" ] || fail "POSTGRES_APP_PASSWORD is required to initialise $PGDATA"
  [ -n "$POSTGRES_REPLICATION_PASSWORD" ] || fail "POSTGRES_REPLICATION_PASSWORD is required to initialise $PGDATA"
  staging="$PGDATA.initialising"
  # A start that died half-way left only the staging directory: PGDATA appears only when complete.
  rm -rf "$staging"
  log "initialising a new cluster in $PGDATA"
  pwfile=""
  if [ -n "$POSTGRES_SUPERUSER_PASSWORD" ]; then
    pwfile="$POSTGRES_SOCKET_DIR/.initdb-pw.$$"
    (umask 077; printf '%s\\n' "$POSTGRES_SUPERUSER_PASSWORD" > "$pwfile")
  fi
  initdb -D "$staging" --encoding=UTF8 --locale=C --auth-local=peer --auth-host=scram-sha-256 \\
    \${pwfile:+--pwfile="$pwfile"} >&2 || { rm -f "$pwfile"; fail "initdb failed"; }
  rm -f "$pwfile"

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

  {
    echo "# graminsta: TCP clients and replicas, password (scram-sha-256) only"
    for cidr in $POSTGRES_ALLOWED_CIDRS; do
      echo "host replication $POSTGRES_REPLICATION_USER $cidr scram-sha-256"
      echo "host all all $cidr scram-sha-256"
    done
  } >> "$staging/pg_hba.conf"

  log "creating roles and database"
  pg_ctl -D "$staging" -w -t 60 -o "-c listen_addresses='' -c port=$POSTGRES_PORT -c unix_socket_directories='$POSTGRES_SOCKET_DIR'" start >&2 \\
    || fail "could not start the temporary server"
  if ! psql -v ON_ERROR_STOP=1 -X -q -h "$POSTGRES_SOCKET_DIR" -p "$POSTGRES_PORT" -d postgres \\
      -v app_user="$POSTGRES_APP_USER" -v app_password="$POSTGRES_APP_PASSWORD" -v db="$POSTGRES_DB" \\
      -v repl_user="$POSTGRES_REPLICATION_USER" -v repl_password="$POSTGRES_REPLICATION_PASSWORD" >&2 <<'SQL'
CREATE ROLE :"repl_user" WITH REPLICATION LOGIN PASSWORD :'repl_password';
CREATE ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';
CREATE DATABASE :"db" OWNER :"app_user";
\\connect :"db"
ALTER SCHEMA public OWNER TO :"app_user";
SQL
  then
    pg_ctl -D "$staging" -m immediate stop >&2 || true
    fail "could not create roles and database"
  fi
  pg_ctl -D "$staging" -m fast -w stop >&2 || fail "could not stop the temporary server"
  if [ -d "$PGDATA" ]; then rmdir "$PGDATA" || fail "$PGDATA exists but is not an empty directory"; fi
  mv "$staging" "$PGDATA"
  log "initialised $PGDATA"
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initialise
else
  log "using existing cluster in $PGDATA"
fi

log "starting postgres on port $POSTGRES_PORT"
exec postgres -D "$PGDATA" -c port="$POSTGRES_PORT" -c listen_addresses="$POSTGRES_LISTEN_ADDRESSES" \\
  -c unix_socket_directories="$POSTGRES_SOCKET_DIR" "$@"
`;

/** Container command of a read replica: clones the primary with pg_basebackup when PGDATA is empty, then runs postgres as a hot standby. */
export const POSTGRES_REPLICA_ENTRYPOINT_SH = `#!/bin/sh
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
#   POSTGRES_REPLICATION_SLOT         default HOSTNAME with [^a-z0-9_] -> _     physical replication slot on the primary, one per replica
#   HOSTNAME                          set by Kubernetes (the pod name)          used for the default slot name
#   POSTGRES_WAIT_TIMEOUT_SECONDS     default 0 (wait forever)                  give up (exit 1) when the primary is not ready for this long
#   POSTGRES_WAIT_MAX_DELAY_SECONDS   default 30                                upper bound of the backoff between checks of the primary
#   POSTGRES_BASEBACKUP_ATTEMPTS      default 5                                 pg_basebackup attempts before exiting 1 (the kubelet restarts the container)
# mounts:
#   dirname of PGDATA   the data volume (PersistentVolumeClaim), writable by the container's uid (999 in the image)
#   /tmp                emptyDir (unix socket, replication passfile; the root filesystem is read-only)
# The connection to the primary is passed on the command line on every start, so a changed
# password or primary host applies after a restart; the password is never written to PGDATA.
set -eu

PGDATA="\${PGDATA:-/var/lib/postgresql/data/pgdata}"
POSTGRES_BIN_DIR="\${POSTGRES_BIN_DIR:-}"
POSTGRES_PORT="\${POSTGRES_PORT:-5432}"
POSTGRES_LISTEN_ADDRESSES="\${POSTGRES_LISTEN_ADDRESSES:-*}"
POSTGRES_SOCKET_DIR="\${POSTGRES_SOCKET_DIR:-/tmp}"
POSTGRES_PRIMARY_HOST="\${POSTGRES_PRIMARY_HOST:-}"
POSTGRES_PRIMARY_PORT="\${POSTGRES_PRIMARY_PORT:-5432}"
POSTGRES_REPLICATION_USER="\${POSTGRES_REPLICATION_USER:-replicator}"
POSTGRES_REPLICATION_PASSWORD="\${POSTGRES_REPLICATION_PASSWORD:-}"
POSTGRES_REPLICATION_SLOT="\${POSTGRES_REPLICATION_SLOT:-$(printf '%s' "\${HOSTNAME:-}" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9_' '_')}"
POSTGRES_WAIT_TIMEOUT_SECONDS="\${POSTGRES_WAIT_TIMEOUT_SECONDS:-0}"
POSTGRES_WAIT_MAX_DELAY_SECONDS="\${POSTGRES_WAIT_MAX_DELAY_SECONDS:-30}"
POSTGRES_BASEBACKUP_ATTEMPTS="\${POSTGRES_BASEBACKUP_ATTEMPTS:-5}"

if [ -n "$POSTGRES_BIN_DIR" ]; then PATH="$POSTGRES_BIN_DIR:$PATH"; export PATH; fi

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) postgres-replica: $*" >&2; }
fail() { log "error: $*"; exit 1; }
number() { case "$2" in ''|*[!0-9]*) fail "$1 must be a non-negative integer, got '$2'" ;; esac; }

number POSTGRES_PORT "$POSTGRES_PORT"
number POSTGRES_PRIMARY_PORT "$POSTGRES_PRIMARY_PORT"
number POSTGRES_WAIT_TIMEOUT_SECONDS "$POSTGRES_WAIT_TIMEOUT_SECONDS"
number POSTGRES_WAIT_MAX_DELAY_SECONDS "$POSTGRES_WAIT_MAX_DELAY_SECONDS"
number POSTGRES_BASEBACKUP_ATTEMPTS "$POSTGRES_BASEBACKUP_ATTEMPTS"
[ -n "$POSTGRES_PRIMARY_HOST" ] || fail "POSTGRES_PRIMARY_HOST is required"
[ -n "$POSTGRES_REPLICATION_PASSWORD" ] || fail "POSTGRES_REPLICATION_PASSWORD is required"
case "$POSTGRES_REPLICATION_SLOT" in
  ''|*[!a-z0-9_]*) fail "POSTGRES_REPLICATION_SLOT must be lower-case letters, digits and _ (or set HOSTNAME), got '$POSTGRES_REPLICATION_SLOT'" ;;
esac

passfile="$POSTGRES_SOCKET_DIR/.replication.pgpass"
escaped_password=$(printf '%s' "$POSTGRES_REPLICATION_PASSWORD" | sed 's/[\\\\:]/\\\\&/g')
(umask 077; printf '*:*:*:*:%s\\n' "$escaped_password" > "$passfile")
conninfo="host=$POSTGRES_PRIMARY_HOST port=$POSTGRES_PRIMARY_PORT user=$POSTGRES_REPLICATION_USER passfile=$passfile application_name=$POSTGRES_REPLICATION_SLOT"

wait_for_primary() {
  waited=0
  delay=1
  until pg_isready -q -t 5 -h "$POSTGRES_PRIMARY_HOST" -p "$POSTGRES_PRIMARY_PORT" -U "$POSTGRES_REPLICATION_USER" -d postgres; do
    if [ "$POSTGRES_WAIT_TIMEOUT_SECONDS" -gt 0 ] && [ "$waited" -ge "$POSTGRES_WAIT_TIMEOUT_SECONDS" ]; then
      fail "primary $POSTGRES_PRIMARY_HOST:$POSTGRES_PRIMARY_PORT not ready after \${waited}s; giving up"
    fi
    log "waiting for primary $POSTGRES_PRIMARY_HOST:$POSTGRES_PRIMARY_PORT (not ready after \${waited}s, next check in \${delay}s)"
${backoffSleepSh('POSTGRES_WAIT_MAX_DELAY_SECONDS')}
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

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  clone_primary
else
  log "using existing data in $PGDATA; resuming streaming from the primary"
fi
# This pod is always a standby: there is no failover, so never come up as a second primary.
touch "$PGDATA/standby.signal"

log "starting postgres as a hot standby on port $POSTGRES_PORT"
exec postgres -D "$PGDATA" -c port="$POSTGRES_PORT" -c listen_addresses="$POSTGRES_LISTEN_ADDRESSES" \\
  -c unix_socket_directories="$POSTGRES_SOCKET_DIR" -c hot_standby=on \\
  -c primary_conninfo="$conninfo" -c primary_slot_name="$POSTGRES_REPLICATION_SLOT" "$@"
`;
