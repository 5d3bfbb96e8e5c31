#!/bin/sh
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
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${0%/*}/lib.sh"

PGDATA="${PGDATA:-/var/lib/postgresql/data/pgdata}"
POSTGRES_BIN_DIR="${POSTGRES_BIN_DIR:-}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
POSTGRES_LISTEN_ADDRESSES="${POSTGRES_LISTEN_ADDRESSES:-*}"
POSTGRES_SOCKET_DIR="${POSTGRES_SOCKET_DIR:-/tmp}"
POSTGRES_DB="${POSTGRES_DB:-graminsta}"
POSTGRES_APP_USER="${POSTGRES_APP_USER:-graminsta}"
POSTGRES_APP_PASSWORD="${POSTGRES_APP_PASSWORD:-}"
POSTGRES_REPLICATION_USER="${POSTGRES_REPLICATION_USER:-replicator}"
POSTGRES_REPLICATION_PASSWORD="${POSTGRES_REPLICATION_PASSWORD:-}"
POSTGRES_SUPERUSER_PASSWORD="${POSTGRES_SUPERUSER_PASSWORD:-}"
POSTGRES_ALLOWED_CIDRS="${POSTGRES_ALLOWED_CIDRS:-0.0.0.0/0 ::/0}"
POSTGRES_MAX_WAL_SENDERS="${POSTGRES_MAX_WAL_SENDERS:-10}"
POSTGRES_MAX_SLOT_WAL_KEEP_SIZE="${POSTGRES_MAX_SLOT_WAL_KEEP_SIZE:-2GB}"

use_bin_dir "$POSTGRES_BIN_DIR"


number POSTGRES_PORT "$POSTGRES_PORT"
number POSTGRES_MAX_WAL_SENDERS "$POSTGRES_MAX_WAL_SENDERS"

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
    (umask 077; printf '%s\n' "$POSTGRES_SUPERUSER_PASSWORD" > "$pwfile")
  fi
  initdb -D "$staging" --encoding=UTF8 --locale=C --auth-local=peer --auth-host=scram-sha-256 \
    ${pwfile:+--pwfile="$pwfile"} >&2 || { rm -f "$pwfile"; fail "initdb failed"; }
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
  pg_ctl -D "$staging" -w -t 60 -o "-c listen_addresses='' -c port=$POSTGRES_PORT -c unix_socket_directories='$POSTGRES_SOCKET_DIR'" start >&2 \
    || fail "could not start the temporary server"
  if ! psql -v ON_ERROR_STOP=1 -X -q -h "$POSTGRES_SOCKET_DIR" -p "$POSTGRES_PORT" -d postgres \
      -v app_user="$POSTGRES_APP_USER" -v app_password="$POSTGRES_APP_PASSWORD" -v db="$POSTGRES_DB" \
      -v repl_user="$POSTGRES_REPLICATION_USER" -v repl_password="$POSTGRES_REPLICATION_PASSWORD" >&2 <<'SQL'
CREATE ROLE :"repl_user" WITH REPLICATION LOGIN PASSWORD :'repl_password';
CREATE ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';
CREATE DATABASE :"db" OWNER :"app_user";
\connect :"db"
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
exec postgres -D "$PGDATA" -c port="$POSTGRES_PORT" -c listen_addresses="$POSTGRES_LISTEN_ADDRESSES" \
  -c unix_socket_directories="$POSTGRES_SOCKET_DIR" "$@"
