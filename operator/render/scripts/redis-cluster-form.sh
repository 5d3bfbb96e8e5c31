#!/bin/sh
# graminsta redis cluster forming: creates the cluster once every node is up, and re-joins nodes that came back empty; a no-op on a formed cluster.
# Run it as a Job (or again after any node was replaced): command: ["sh", "/scripts/redis-cluster-form.sh"]
# Exit 0 = the cluster is ok with all 16384 slots assigned; exit 1 = it is not (the log says why; a Job retries).
# env:
#   REDIS_CLUSTER_NODES              required                              every node's stable address, host:port[@busport] separated by spaces or commas (e.g. <app>-cache-0.<app>-cache-headless:6379 ...); the same value as the nodes'
#   REDIS_CLUSTER_REPLICAS           default 1                             replicas per primary (cache.replicasPerShard); primaries = nodes / (1 + replicas)
#   REDIS_PASSWORD                   default (empty)                       the nodes' password (Secret)
#   REDIS_PASSWORD_FILE              default (empty)                       a file holding REDIS_PASSWORD (the Secret key mounted as a volume); set one of the two
#   REDIS_BIN_DIR                    default (empty: binaries from PATH)    directory holding redis-cli
#   REDIS_WAIT_TIMEOUT_SECONDS       default 600                           give up (exit 1) when a node is not reachable for this long; 0 = wait forever
#   REDIS_WAIT_MAX_DELAY_SECONDS     default 10                            upper bound of the backoff between reachability checks
#   REDIS_OK_TIMEOUT_SECONDS         default 120                           how long to wait for cluster_state:ok after changing the cluster
# mounts: none (the ConfigMap holding this script)
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${0%/*}/lib.sh"

REDIS_CLUSTER_NODES="${REDIS_CLUSTER_NODES:-}"
REDIS_CLUSTER_REPLICAS="${REDIS_CLUSTER_REPLICAS:-1}"
REDIS_PASSWORD=$(secret_value REDIS_PASSWORD "${REDIS_PASSWORD:-}" "${REDIS_PASSWORD_FILE:-}")
REDIS_BIN_DIR="${REDIS_BIN_DIR:-}"
REDIS_WAIT_TIMEOUT_SECONDS="${REDIS_WAIT_TIMEOUT_SECONDS:-600}"
REDIS_WAIT_MAX_DELAY_SECONDS="${REDIS_WAIT_MAX_DELAY_SECONDS:-10}"
REDIS_OK_TIMEOUT_SECONDS="${REDIS_OK_TIMEOUT_SECONDS:-120}"

use_bin_dir "$REDIS_BIN_DIR"
REDISCLI_AUTH="$REDIS_PASSWORD"; export REDISCLI_AUTH


number REDIS_CLUSTER_REPLICAS "$REDIS_CLUSTER_REPLICAS"
number REDIS_WAIT_TIMEOUT_SECONDS "$REDIS_WAIT_TIMEOUT_SECONDS"
number REDIS_WAIT_MAX_DELAY_SECONDS "$REDIS_WAIT_MAX_DELAY_SECONDS"
number REDIS_OK_TIMEOUT_SECONDS "$REDIS_OK_TIMEOUT_SECONDS"
[ -n "$REDIS_CLUSTER_NODES" ] || fail "REDIS_CLUSTER_NODES is required"

# Prints the IP a host name resolves to (an IP is printed as is).
resolve() {
  case "$1" in
    *[!0-9.]*) getent hosts "$1" 2>/dev/null | awk 'NR == 1 {print $1}' ;;
    *) echo "$1" ;;
  esac
}
# Runs redis-cli against ip:port ($1), printing the reply without carriage returns.
rcli() { addr="$1"; shift; redis-cli --no-auth-warning -h "${addr%:*}" -p "${addr##*:}" "$@" | tr -d '\r'; }
info_field() { rcli "$1" CLUSTER INFO | sed -n "s/^$2://p"; }

names=$(echo "$REDIS_CLUSTER_NODES" | tr ',' ' ' | sed 's/@[0-9]*//g')
count=0
for name in $names; do
  case "$name" in *:*) ;; *) fail "REDIS_CLUSTER_NODES entries must be host:port, got '$name'" ;; esac
  number "port of '$name' in REDIS_CLUSTER_NODES" "${name##*:}"
  count=$((count + 1))
done
masters=$((count / (REDIS_CLUSTER_REPLICAS + 1)))
[ $((masters * (REDIS_CLUSTER_REPLICAS + 1))) -eq "$count" ] \
  || fail "REDIS_CLUSTER_NODES has $count nodes: not a multiple of 1 + REDIS_CLUSTER_REPLICAS ($((REDIS_CLUSTER_REPLICAS + 1)))"
[ "$masters" -ge 3 ] || fail "a Redis Cluster needs at least 3 primaries; REDIS_CLUSTER_NODES has $count nodes for $masters primaries"

# Waits until every node resolves and answers PING; sets $addrs to their ip:port list.
wait_for_nodes() {
  waited=0
  delay=1
  while :; do
    addrs=""
    missing=""
    for name in $names; do
      ip=$(resolve "${name%:*}")
      reply=""
      [ -z "$ip" ] || reply=$(rcli "$ip:${name##*:}" PING 2>/dev/null || true)
      if [ "$reply" = PONG ]; then
        addrs="$addrs $ip:${name##*:}"
      else
        missing="$missing $name${reply:+ ($reply)}"
      fi
    done
    [ -n "$missing" ] || break
    if [ "$REDIS_WAIT_TIMEOUT_SECONDS" -gt 0 ] && [ "$waited" -ge "$REDIS_WAIT_TIMEOUT_SECONDS" ]; then
      fail "nodes not reachable after ${waited}s:$missing"
    fi
    log "waiting for nodes:$missing (${waited}s so far, next check in ${delay}s)"
    backoff_sleep "$REDIS_WAIT_MAX_DELAY_SECONDS"
  done
  log "all $count nodes answer"
}

wait_until_ok() {
  waited=0
  while [ "$waited" -lt "$REDIS_OK_TIMEOUT_SECONDS" ]; do
    bad=""
    for addr in $addrs; do
      [ "$(info_field "$addr" cluster_state)" = ok ] || bad="$bad $addr"
    done
    if [ -z "$bad" ]; then log "cluster_state:ok on all $count nodes"; return 0; fi
    sleep 1
    waited=$((waited + 1))
  done
  fail "cluster_state is not ok after ${REDIS_OK_TIMEOUT_SECONDS}s on:$bad"
}

wait_for_nodes

# Classify the nodes: members hold slots or know other nodes; empty ones know only themselves.
members=""
empty=""
slots_max=0
for addr in $addrs; do
  known=$(info_field "$addr" cluster_known_nodes)
  slots=$(info_field "$addr" cluster_slots_assigned)
  known="${known:-0}"
  slots="${slots:-0}"
  [ "$slots" -le "$slots_max" ] || slots_max="$slots"
  if [ "$known" -le 1 ] && [ "$slots" -eq 0 ]; then empty="$empty $addr"; else members="$members $addr"; fi
done

if [ "$slots_max" -eq 0 ]; then
  # No node has ever been given slots: a creation that never happened or never finished. Start clean.
  for addr in $members; do
    log "resetting $addr: it knows other nodes but no slots are assigned anywhere"
    rcli "$addr" FLUSHALL >/dev/null
    rcli "$addr" CLUSTER RESET HARD >/dev/null
  done
  log "creating the cluster: $masters primaries, $REDIS_CLUSTER_REPLICAS replica(s) each, nodes:$addrs"
  # shellcheck disable=SC2086
  redis-cli --no-auth-warning --cluster create $addrs --cluster-replicas "$REDIS_CLUSTER_REPLICAS" --cluster-yes >&2 \
    || fail "redis-cli --cluster create failed"
  wait_until_ok
  exit 0
fi

if [ "$slots_max" -ne 16384 ]; then
  fail "the cluster has only $slots_max of 16384 slots assigned; not changing it automatically (inspect with redis-cli --cluster check, repair with --cluster fix)"
fi

# shellcheck disable=SC2086 # split the space-separated member list into the positional parameters
set -- $members
seed="$1"
if [ -z "$empty" ]; then
  state=$(info_field "$seed" cluster_state)
  log "the cluster is already formed (cluster_state:$state on $seed); nothing to do"
  wait_until_ok
  exit 0
fi

for addr in $empty; do
  log "joining $addr, which came back empty, as a replica of the primary with the fewest replicas (via $seed)"
  redis-cli --no-auth-warning --cluster add-node "$addr" "$seed" --cluster-slave >&2 || fail "could not add $addr to the cluster"
done

# The replaced nodes' old identities stay behind, unreachable: once the cluster agrees they failed, forget them.
waited=0
while :; do
  view=$(rcli "$seed" CLUSTER NODES)
  for id in $(echo "$view" | awk '$3 ~ /(^|,)fail(,|$)/ && $9 == "" {print $1}'); do
    log "forgetting failed node $id (the identity of a replaced node) on every node"
    for addr in $addrs; do rcli "$addr" CLUSTER FORGET "$id" >/dev/null 2>&1 || true; done
  done
  # Until then they show as disconnected, then fail? (suspected), then fail (agreed by the primaries).
  echo "$view" | awk '$3 ~ /fail/ || $8 != "connected" {found = 1} END {exit found}' && break
  [ "$waited" -lt "$REDIS_OK_TIMEOUT_SECONDS" ] \
    || fail "nodes still unreachable after ${waited}s: $(echo "$view" | awk '$3 ~ /fail/ || $8 != "connected" {printf "%s %s %s; ", $1, $2, $3}')"
  sleep 1
  waited=$((waited + 1))
done
wait_until_ok
