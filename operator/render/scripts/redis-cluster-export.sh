#!/bin/sh
# graminsta redis cluster export: copies every key of a Redis Cluster into a standalone Redis, TTLs kept (cache.shards >= 3 -> 1), so that the standalone starts warm.
# Run it as a Job while both run: command: ["sh", "/scripts/redis-cluster-export.sh"]
# Each primary's keys are read with SCAN and sent with MIGRATE ... COPY REPLACE, a key each (a cluster refuses keys of several slots in one MIGRATE), through
# one redis-cli per primary; the cluster keeps its keys, and a key written meanwhile is copied as it is then.
# Exit 0 = every primary's keys were copied; exit 1 = not (the log says why; a Job retries, and copying again is harmless).
# env:
#   REDIS_CLUSTER_NODES              required                              the cluster's nodes, host:port[@busport] separated by spaces or commas; the first that answers is asked for the primaries
#   REDIS_EXPORT_TO                  required                              host:port of the standalone Redis (same password)
#   REDIS_PASSWORD                   default (empty)                       the password of both (Secret)
#   REDIS_PASSWORD_FILE              default (empty)                       a file holding REDIS_PASSWORD (the Secret key mounted as a volume); set one of the two
#   REDIS_BIN_DIR                    default (empty: binaries from PATH)    directory holding redis-cli
#   REDIS_MIGRATE_TIMEOUT_MS         default 5000                          MIGRATE's timeout
# mounts: none (the ConfigMap holding this script)
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${0%/*}/lib.sh"

REDIS_CLUSTER_NODES="${REDIS_CLUSTER_NODES:-}"
REDIS_EXPORT_TO="${REDIS_EXPORT_TO:-}"
REDIS_PASSWORD=$(secret_value REDIS_PASSWORD "${REDIS_PASSWORD:-}" "${REDIS_PASSWORD_FILE:-}")
REDIS_BIN_DIR="${REDIS_BIN_DIR:-}"
REDIS_MIGRATE_TIMEOUT_MS="${REDIS_MIGRATE_TIMEOUT_MS:-5000}"

use_bin_dir "$REDIS_BIN_DIR"
REDISCLI_AUTH="$REDIS_PASSWORD"; export REDISCLI_AUTH

[ -n "$REDIS_CLUSTER_NODES" ] || fail "REDIS_CLUSTER_NODES is required"
case "$REDIS_EXPORT_TO" in *:*) ;; '') fail "REDIS_EXPORT_TO is required" ;; *) fail "REDIS_EXPORT_TO must be host:port, got '$REDIS_EXPORT_TO'" ;; esac
number REDIS_MIGRATE_TIMEOUT_MS "$REDIS_MIGRATE_TIMEOUT_MS"

rcli() { addr="$1"; shift; redis-cli --no-auth-warning -h "${addr%:*}" -p "${addr##*:}" "$@" | tr -d '\r'; }

target_ip=$(resolve "${REDIS_EXPORT_TO%:*}")
[ -n "$target_ip" ] || fail "REDIS_EXPORT_TO: ${REDIS_EXPORT_TO%:*} does not resolve"
target_port="${REDIS_EXPORT_TO##*:}"
[ "$(rcli "$target_ip:$target_port" PING 2>&1)" = PONG ] || fail "REDIS_EXPORT_TO: $REDIS_EXPORT_TO does not answer PING"

seed=""
for entry in $(echo "$REDIS_CLUSTER_NODES" | tr ',' ' '); do
  hostport="${entry%@*}"
  ip=$(resolve "${hostport%:*}")
  [ -n "$ip" ] || continue
  if [ "$(rcli "$ip:${hostport##*:}" CLUSTER INFO 2>/dev/null | sed -n 's/^cluster_state://p')" = ok ]; then seed="$ip:${hostport##*:}"; break; fi
done
[ -n "$seed" ] || fail "no node of REDIS_CLUSTER_NODES answers with cluster_state:ok"
primaries=$(rcli "$seed" CLUSTER NODES | cluster_table "" | awk '$3 == "master" && $5 > 0 {print $2}')

# Prints, for each key read on stdin (a line each: keys with a newline in their name are not copied; the service's
# keys have none), the MIGRATE that copies it to the target, quoted as redis-cli reads commands from its input.
migrate_commands() {
  MIGRATE_AUTH="$REDIS_PASSWORD" awk -v to="$target_ip $target_port" -v timeout="$REDIS_MIGRATE_TIMEOUT_MS" '
    function quote(s) { gsub(/[\\"]/, "\\\\&", s); return "\"" s "\"" }
    BEGIN { auth = ENVIRON["MIGRATE_AUTH"]; auth = (auth == "") ? "" : " AUTH " quote(auth) }
    { print "MIGRATE " to " " quote($0) " 0 " timeout " COPY REPLACE" auth }'
}

started=$(date +%s)
total=0
for from in $primaries; do
  replies=$(redis-cli --no-auth-warning -h "${from%:*}" -p "${from##*:}" --scan | migrate_commands \
    | redis-cli --no-auth-warning -h "${from%:*}" -p "${from##*:}" | tr -d '\r') || fail "copying the keys of $from failed"
  bad=$(echo "$replies" | grep -v -x -e OK -e NOKEY -e '' | head -n 1)
  [ -z "$bad" ] || fail "MIGRATE from $from to $REDIS_EXPORT_TO failed: $bad"
  copied=$(echo "$replies" | grep -c -x OK || true)
  log "copied $copied keys of the primary $from"
  total=$((total + copied))
done
log "copied $total keys from $(echo "$primaries" | wc -w) primaries to $REDIS_EXPORT_TO in $(( $(date +%s) - started ))s"
