#!/bin/sh
# graminsta postgres backup: pg_dump (custom format) of the application database into a named pipe that the
# photo service in backup mode, in the same pod, streams to the bucket; the dump never sits on a disk.
# Use it as the command of the dump container of the backup CronJob's pod:
#   command: ["sh", "/scripts/postgres-backup.sh"]
# env:
#   POSTGRES_BIN_DIR                default (empty: binaries from PATH)       directory holding pg_dump and psql
#   POSTGRES_HOST                   required                                  the primary (the <app>-db-rw Service)
#   POSTGRES_PORT                   default 5432                              the primary's port
#   POSTGRES_DB                     default graminsta                         the database dumped
#   POSTGRES_APP_USER               default graminsta                         role pg_dump logs in as (the owner of the database)
#   POSTGRES_APP_PASSWORD           required (Secret)                         its password
#   POSTGRES_APP_PASSWORD_FILE      default (empty)                           a file holding POSTGRES_APP_PASSWORD (the Secret key mounted as a volume); set one of the two
#   POSTGRES_TLS_CA_FILE            default (empty: no TLS)                   the CA certificate (PEM) of the server's: with it pg_dump connects with TLS (sslmode=verify-full, the name is POSTGRES_HOST)
#   POSTGRES_BACKUP_DIR             required                                  directory shared with the uploader (an emptyDir): dump.fifo, then dump.status and dump.err
#   POSTGRES_WAIT_TIMEOUT_SECONDS   default 300                               give up (exit 1) when the primary does not answer for this long
#   TMPDIR                          default /tmp                              where the passfile goes (must be writable)
# mounts:
#   POSTGRES_BACKUP_DIR   emptyDir shared with the uploader container
#   /tmp                  emptyDir (the passfile; the root filesystem is read-only)
# The script makes dump.fifo (mode 0660), runs pg_dump into it (blocking until the uploader reads), then writes
# pg_dump's exit status to dump.status (atomically, after dump.err holds its messages): the uploader completes
# the upload only when that status is 0. The script exits with pg_dump's status.
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${0%/*}/lib.sh"

POSTGRES_BIN_DIR="${POSTGRES_BIN_DIR:-}"
POSTGRES_HOST="${POSTGRES_HOST:-}"
POSTGRES_PORT="${POSTGRES_PORT:-5432}"
POSTGRES_DB="${POSTGRES_DB:-graminsta}"
POSTGRES_APP_USER="${POSTGRES_APP_USER:-graminsta}"
POSTGRES_APP_PASSWORD=$(secret_value POSTGRES_APP_PASSWORD "${POSTGRES_APP_PASSWORD:-}" "${POSTGRES_APP_PASSWORD_FILE:-}")
POSTGRES_BACKUP_DIR="${POSTGRES_BACKUP_DIR:-}"
POSTGRES_TLS_CA_FILE="${POSTGRES_TLS_CA_FILE:-}"
POSTGRES_WAIT_TIMEOUT_SECONDS="${POSTGRES_WAIT_TIMEOUT_SECONDS:-300}"

use_bin_dir "$POSTGRES_BIN_DIR"
number POSTGRES_PORT "$POSTGRES_PORT"
number POSTGRES_WAIT_TIMEOUT_SECONDS "$POSTGRES_WAIT_TIMEOUT_SECONDS"
[ -n "$POSTGRES_HOST" ] || fail "POSTGRES_HOST is required"
[ -n "$POSTGRES_APP_PASSWORD" ] || fail "POSTGRES_APP_PASSWORD (or POSTGRES_APP_PASSWORD_FILE) is required"
[ -n "$POSTGRES_BACKUP_DIR" ] || fail "POSTGRES_BACKUP_DIR is required"
[ -d "$POSTGRES_BACKUP_DIR" ] || fail "POSTGRES_BACKUP_DIR: $POSTGRES_BACKUP_DIR is not a directory"
if [ -n "$POSTGRES_TLS_CA_FILE" ]; then
  { [ -f "$POSTGRES_TLS_CA_FILE" ] && [ -r "$POSTGRES_TLS_CA_FILE" ]; } || fail "POSTGRES_TLS_CA_FILE: cannot read $POSTGRES_TLS_CA_FILE"
  # libpq's own settings: pg_isready and pg_dump verify the server's certificate and name.
  PGSSLMODE=verify-full
  PGSSLROOTCERT="$POSTGRES_TLS_CA_FILE"
  export PGSSLMODE PGSSLROOTCERT
fi

# A passfile, as postgres-replica.sh writes one (not a helper of lib.sh: every script inlines lib.sh, so a change
# there would roll every data-tier pod): no environment carries the password.
passfile="${TMPDIR:-/tmp}/.backup.pgpass"
(umask 077; printf '*:*:*:*:%s\n' "$(printf '%s' "$POSTGRES_APP_PASSWORD" | sed 's/[\\:]/\\&/g')" > "$passfile")
unset POSTGRES_APP_PASSWORD
PGPASSFILE="$passfile"
export PGPASSFILE

fifo="$POSTGRES_BACKUP_DIR/dump.fifo"
status_file="$POSTGRES_BACKUP_DIR/dump.status"
err_file="$POSTGRES_BACKUP_DIR/dump.err"
rm -f "$fifo" "$status_file" "$status_file.tmp" "$err_file"

# finish STATUS: hands the uploader pg_dump's status (dump.err already holds its messages) and exits with it.
finish() {
  printf '%s\n' "$1" > "$status_file.tmp"
  mv "$status_file.tmp" "$status_file"
  exit "$1"
}

waited=0
delay=1
# A query rather than pg_isready: its error (refused, TLS verification, password) goes into the failure's message.
until last_error=$(PGCONNECT_TIMEOUT=5 psql -X -q -t -w -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_APP_USER" -d "$POSTGRES_DB" -c 'SELECT 1' 2>&1 >/dev/null); do
  if [ "$waited" -ge "$POSTGRES_WAIT_TIMEOUT_SECONDS" ]; then
    message="the database at $POSTGRES_HOST:$POSTGRES_PORT did not answer for ${waited}s: $(printf '%s' "$last_error" | tr '\n' ' ')"
    log "error: $message"
    printf '%s\n' "$message" > "$err_file"
    # The uploader waits for the pipe: open it once so that it sees the end at once.
    mkfifo -m 0660 "$fifo"
    : > "$fifo"
    finish 1
  fi
  backoff_sleep 10
done

mkfifo -m 0660 "$fifo"
log "dumping $POSTGRES_DB from $POSTGRES_HOST:$POSTGRES_PORT into $fifo"
started=$(date +%s)
status=0
# Opening the pipe blocks until the uploader opens it for reading.
pg_dump --format=custom --compress=6 --no-password -h "$POSTGRES_HOST" -p "$POSTGRES_PORT" -U "$POSTGRES_APP_USER" -d "$POSTGRES_DB" > "$fifo" 2> "$err_file" || status=$?
if [ -s "$err_file" ]; then cat "$err_file" >&2; fi
if [ "$status" -eq 0 ]; then
  log "pg_dump finished in $(( $(date +%s) - started ))s"
else
  log "error: pg_dump exited with status $status"
fi
finish "$status"
