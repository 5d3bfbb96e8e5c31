// Redis entrypoints shipped in the <app>-scripts ConfigMap; each script's header comment is its env and mount contract.
import { backoffSleepSh } from './backoff.scripts.js';

/** Container command of a cache node: standalone redis, or a cluster node that corrects its own address and re-meets its peers after a restart. */
export const REDIS_NODE_ENTRYPOINT_SH = `#!/bin/sh
# graminsta redis node entrypoint: runs redis-server standalone, or as a Redis Cluster node that keeps its cluster formed across restarts with new IPs.
# Use it as the container command:
#   command: ["sh", "/scripts/redis-node.sh"]   extra arguments are passed on to redis-server
# env:
#   REDIS_MODE                       default cluster                       cluster (cache.shards >= 3) or standalone (cache.shards = 1)
#   REDIS_BIN_DIR                    default (empty: binaries from PATH)    directory holding redis-server and redis-cli
#   REDIS_PORT                       default 6379                          client port
#   REDIS_CLUSTER_BUS_PORT           default REDIS_PORT + 10000            cluster bus port (cluster mode)
#   REDIS_DATA_DIR                   default /data                         working directory: nodes.conf lives here (cluster mode)
#   REDIS_RUNTIME_DIR                default /tmp                          where the generated redis.conf (it holds the password) is written, mode 0600
#   REDIS_PASSWORD                   default (empty: no auth, warns)       requirepass and masterauth (Secret)
#   REDIS_BIND                       default "* -::*"                      bind addresses
#   REDIS_ANNOUNCE_IP                default POD_IP, else \`hostname -i\`    address this node announces to the cluster (cluster mode)
#   POD_IP                           set from the downward API (status.podIP)  default for REDIS_ANNOUNCE_IP
#   REDIS_ANNOUNCE_HOSTNAME          default (empty)                       this node's stable DNS name, announced as cluster-announce-hostname (cluster mode)
#   REDIS_CLUSTER_NODES              default (empty)                       all nodes' stable addresses, host:port[@busport] separated by spaces or commas; re-met after a restart (cluster mode)
#   REDIS_CLUSTER_NODE_TIMEOUT_MS    default 15000                         cluster-node-timeout
#   REDIS_MAXMEMORY                  default (empty: no limit)             maxmemory, e.g. 200mb (evicts allkeys-lru when set)
#   REDIS_REJOIN_TIMEOUT_SECONDS     default 300                           how long a restarted node keeps re-meeting its peers until the cluster is ok
# mounts:
#   REDIS_DATA_DIR   the data volume (PersistentVolumeClaim in cluster mode: nodes.conf must survive restarts), writable by uid 999
#   /tmp             emptyDir (the generated redis.conf; the root filesystem is read-only)
# The cache is not persisted (no RDB snapshots, no AOF): only the cluster's shape survives a restart.
set -eu

REDIS_MODE="\${REDIS_MODE:-cluster}"
REDIS_BIN_DIR="\${REDIS_BIN_DIR:-}"
REDIS_PORT="\${REDIS_PORT:-6379}"
REDIS_DATA_DIR="\${REDIS_DATA_DIR:-/data}"
REDIS_RUNTIME_DIR="\${REDIS_RUNTIME_DIR:-/tmp}"
REDIS_PASSWORD="\${REDIS_PASSWORD:-}"
REDIS_BIND="\${REDIS_BIND:-* -::*}"
REDIS_ANNOUNCE_HOSTNAME="\${REDIS_ANNOUNCE_HOSTNAME:-}"
REDIS_CLUSTER_NODES="\${REDIS_CLUSTER_NODES:-}"
REDIS_CLUSTER_NODE_TIMEOUT_MS="\${REDIS_CLUSTER_NODE_TIMEOUT_MS:-15000}"
REDIS_MAXMEMORY="\${REDIS_MAXMEMORY:-}"
REDIS_REJOIN_TIMEOUT_SECONDS="\${REDIS_REJOIN_TIMEOUT_SECONDS:-300}"

if [ -n "$REDIS_BIN_DIR" ]; then PATH="$REDIS_BIN_DIR:$PATH"; export PATH; fi

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) redis-node: $*" >&2; }
fail() { log "error: $*"; exit 1; }
number() { case "$2" in ''|*[!0-9]*) fail "$1 must be a non-negative integer, got '$2'" ;; esac; }

number REDIS_PORT "$REDIS_PORT"
REDIS_CLUSTER_BUS_PORT="\${REDIS_CLUSTER_BUS_PORT:-$((REDIS_PORT + 10000))}"
number REDIS_CLUSTER_BUS_PORT "$REDIS_CLUSTER_BUS_PORT"
number REDIS_CLUSTER_NODE_TIMEOUT_MS "$REDIS_CLUSTER_NODE_TIMEOUT_MS"
number REDIS_REJOIN_TIMEOUT_SECONDS "$REDIS_REJOIN_TIMEOUT_SECONDS"
case "$REDIS_MODE" in cluster|standalone) ;; *) fail "REDIS_MODE must be cluster or standalone, got '$REDIS_MODE'" ;; esac
case "$REDIS_PASSWORD" in *'"'*|*'\\'*) fail "REDIS_PASSWORD must not contain \\" or \\\\" ;; esac
[ -d "$REDIS_DATA_DIR" ] || mkdir -p "$REDIS_DATA_DIR" || fail "REDIS_DATA_DIR $REDIS_DATA_DIR cannot be created"

conf="$REDIS_RUNTIME_DIR/redis-$REDIS_PORT.conf"
(
  umask 077
  {
    echo "port $REDIS_PORT"
    echo "bind $REDIS_BIND"
    echo "dir \\"$REDIS_DATA_DIR\\""
    echo 'daemonize no'
    echo 'save ""'
    echo 'appendonly no'
    if [ -n "$REDIS_PASSWORD" ]; then
      echo "requirepass \\"$REDIS_PASSWORD\\""
      echo "masterauth \\"$REDIS_PASSWORD\\""
    else
      echo 'protected-mode no'
    fi
    if [ -n "$REDIS_MAXMEMORY" ]; then
      echo "maxmemory $REDIS_MAXMEMORY"
      echo 'maxmemory-policy allkeys-lru'
    fi
  } > "$conf"
)
[ -n "$REDIS_PASSWORD" ] || log "warning: REDIS_PASSWORD is empty: redis accepts clients without a password"

if [ "$REDIS_MODE" = standalone ]; then
  log "starting standalone redis on port $REDIS_PORT"
  exec redis-server "$conf" "$@"
fi

REDIS_ANNOUNCE_IP="\${REDIS_ANNOUNCE_IP:-\${POD_IP:-}}"
if [ -z "$REDIS_ANNOUNCE_IP" ]; then REDIS_ANNOUNCE_IP=$(hostname -i 2>/dev/null | awk '{print $1}'); fi
[ -n "$REDIS_ANNOUNCE_IP" ] || fail "REDIS_ANNOUNCE_IP (or POD_IP) is required in cluster mode: could not find this pod's address"
{
  echo 'cluster-enabled yes'
  echo 'cluster-config-file nodes.conf'
  echo "cluster-port $REDIS_CLUSTER_BUS_PORT"
  echo "cluster-node-timeout $REDIS_CLUSTER_NODE_TIMEOUT_MS"
  echo "cluster-announce-ip $REDIS_ANNOUNCE_IP"
  echo "cluster-announce-port $REDIS_PORT"
  echo "cluster-announce-bus-port $REDIS_CLUSTER_BUS_PORT"
  [ -z "$REDIS_ANNOUNCE_HOSTNAME" ] || echo "cluster-announce-hostname $REDIS_ANNOUNCE_HOSTNAME"
  # A replica may fail over however long it was cut off from its primary: for a cache, availability beats staleness.
  echo 'cluster-replica-validity-factor 0'
} >> "$conf"

local_cli() { REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --no-auth-warning -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# Prints the IP a host name resolves to (an IP is printed as is).
resolve() {
  case "$1" in
    *[!0-9.]*) getent hosts "$1" 2>/dev/null | awk 'NR == 1 {print $1}' ;;
    *) echo "$1" ;;
  esac
}

# Meets every node of REDIS_CLUSTER_NODES at the address its stable name resolves to now, until the
# cluster is ok: this is what heals a cluster whose nodes all came back with new IPs.
rejoin_peers() {
  deadline=$(( $(date +%s) + REDIS_REJOIN_TIMEOUT_SECONDS ))
  until local_cli PING >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 0
    sleep 1
  done
  while [ "$(date +%s)" -lt "$deadline" ]; do
    for entry in $(echo "$REDIS_CLUSTER_NODES" | tr ',' ' '); do
      hostport="\${entry%@*}"
      host="\${hostport%:*}"
      port="\${hostport##*:}"
      bus=$((port + 10000))
      case "$entry" in *@*) bus="\${entry##*@}" ;; esac
      ip=$(resolve "$host")
      if [ -z "$ip" ]; then log "peer $host does not resolve yet"; continue; fi
      [ "$ip:$port" != "$REDIS_ANNOUNCE_IP:$REDIS_PORT" ] || continue
      local_cli CLUSTER MEET "$ip" "$port" "$bus" >/dev/null 2>&1 || log "could not meet $host ($ip:$port)"
    done
    sleep 3
    if local_cli CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok'; then
      log "cluster is ok after re-meeting peers"
      return 0
    fi
  done
  log "cluster not ok after \${REDIS_REJOIN_TIMEOUT_SECONDS}s of re-meeting peers; giving up (the form script or a restart retries)"
}

nodes_conf="$REDIS_DATA_DIR/nodes.conf"
if [ -s "$nodes_conf" ]; then
  # Correct this node's own address before redis reads the file; the peers learn it from our pings.
  sed -i -E "/myself/ s/^([0-9a-f]+) [^ @]*:[0-9]+@[0-9]+/\\\\1 $REDIS_ANNOUNCE_IP:$REDIS_PORT@$REDIS_CLUSTER_BUS_PORT/" "$nodes_conf"
  known=$(grep -c -v -e '^vars' -e '^$' "$nodes_conf" || true)
  log "restarting cluster node $(awk '/myself/ {print $1}' "$nodes_conf") as $REDIS_ANNOUNCE_IP:$REDIS_PORT ($known nodes in nodes.conf)"
  if [ "$known" -gt 1 ] && [ -n "$REDIS_CLUSTER_NODES" ]; then
    rejoin_peers &
  fi
else
  log "starting a new cluster node as $REDIS_ANNOUNCE_IP:$REDIS_PORT (the form script joins it)"
fi

exec redis-server "$conf" "$@"
`;

/** Job command that forms the Redis Cluster once all nodes answer, re-joins nodes that came back empty, and does nothing to a formed cluster. */
export const REDIS_CLUSTER_FORM_SH = `#!/bin/sh
# graminsta redis cluster forming: creates the cluster once every node is up, and re-joins nodes that came back empty; a no-op on a formed cluster.
# Run it as a Job (or again after any node was replaced): command: ["sh", "/scripts/redis-cluster-form.sh"]
# Exit 0 = the cluster is ok with all 16384 slots assigned; exit 1 = it is not (the log says why; a Job retries).
# env:
#   REDIS_CLUSTER_NODES              required                              every node's stable address, host:port[@busport] separated by spaces or commas (e.g. <app>-cache-0.<app>-cache-headless:6379 ...); the same value as the nodes'
#   REDIS_CLUSTER_REPLICAS           default 1                             replicas per primary (cache.replicasPerShard); primaries = nodes / (1 + replicas)
#   REDIS_PASSWORD                   default (empty)                       the nodes' password (Secret)
#   REDIS_BIN_DIR                    default (empty: binaries from PATH)    directory holding redis-cli
#   REDIS_WAIT_TIMEOUT_SECONDS       default 600                           give up (exit 1) when a node is not reachable for this long; 0 = wait forever
#   REDIS_WAIT_MAX_DELAY_SECONDS     default 10                            upper bound of the backoff between reachability checks
#   REDIS_OK_TIMEOUT_SECONDS         default 120                           how long to wait for cluster_state:ok after changing the cluster
# mounts: none (the ConfigMap holding this script)
set -eu

REDIS_CLUSTER_NODES="\${REDIS_CLUSTER_NODES:-}"
REDIS_CLUSTER_REPLICAS="\${REDIS_CLUSTER_REPLICAS:-1}"
REDIS_PASSWORD="\${REDIS_PASSWORD:-}"
REDIS_BIN_DIR="\${REDIS_BIN_DIR:-}"
REDIS_WAIT_TIMEOUT_SECONDS="\${REDIS_WAIT_TIMEOUT_SECONDS:-600}"
REDIS_WAIT_MAX_DELAY_SECONDS="\${REDIS_WAIT_MAX_DELAY_SECONDS:-10}"
REDIS_OK_TIMEOUT_SECONDS="\${REDIS_OK_TIMEOUT_SECONDS:-120}"

if [ -n "$REDIS_BIN_DIR" ]; then PATH="$REDIS_BIN_DIR:$PATH"; export PATH; fi
REDISCLI_AUTH="$REDIS_PASSWORD"; export REDISCLI_AUTH

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) redis-cluster-form: $*" >&2; }
fail() { log "error: $*"; exit 1; }
number() { case "$2" in ''|*[!0-9]*) fail "$1 must be a non-negative integer, got '$2'" ;; esac; }

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
rcli() { addr="$1"; shift; redis-cli --no-auth-warning -h "\${addr%:*}" -p "\${addr##*:}" "$@" | tr -d '\\r'; }
info_field() { rcli "$1" CLUSTER INFO | sed -n "s/^$2://p"; }

names=$(echo "$REDIS_CLUSTER_NODES" | tr ',' ' ' | sed 's/@[0-9]*//g')
count=0
for name in $names; do
  case "$name" in *:*) ;; *) fail "REDIS_CLUSTER_NODES entries must be host:port, got '$name'" ;; esac
  number "port of '$name' in REDIS_CLUSTER_NODES" "\${name##*:}"
  count=$((count + 1))
done
masters=$((count / (REDIS_CLUSTER_REPLICAS + 1)))
[ $((masters * (REDIS_CLUSTER_REPLICAS + 1))) -eq "$count" ] \\
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
      ip=$(resolve "\${name%:*}")
      reply=""
      [ -z "$ip" ] || reply=$(rcli "$ip:\${name##*:}" PING 2>/dev/null || true)
      if [ "$reply" = PONG ]; then
        addrs="$addrs $ip:\${name##*:}"
      else
        missing="$missing $name\${reply:+ ($reply)}"
      fi
    done
    [ -n "$missing" ] || break
    if [ "$REDIS_WAIT_TIMEOUT_SECONDS" -gt 0 ] && [ "$waited" -ge "$REDIS_WAIT_TIMEOUT_SECONDS" ]; then
      fail "nodes not reachable after \${waited}s:$missing"
    fi
    log "waiting for nodes:$missing (\${waited}s so far, next check in \${delay}s)"
${backoffSleepSh('REDIS_WAIT_MAX_DELAY_SECONDS')}
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
  fail "cluster_state is not ok after \${REDIS_OK_TIMEOUT_SECONDS}s on:$bad"
}

wait_for_nodes

# Classify the nodes: members hold slots or know other nodes; empty ones know only themselves.
members=""
empty=""
slots_max=0
for addr in $addrs; do
  known=$(info_field "$addr" cluster_known_nodes)
  slots=$(info_field "$addr" cluster_slots_assigned)
  known="\${known:-0}"
  slots="\${slots:-0}"
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
  redis-cli --no-auth-warning --cluster create $addrs --cluster-replicas "$REDIS_CLUSTER_REPLICAS" --cluster-yes >&2 \\
    || fail "redis-cli --cluster create failed"
  wait_until_ok
  exit 0
fi

if [ "$slots_max" -ne 16384 ]; then
  fail "the cluster has only $slots_max of 16384 slots assigned; not changing it automatically (inspect with redis-cli --cluster check, repair with --cluster fix)"
fi

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
  [ "$waited" -lt "$REDIS_OK_TIMEOUT_SECONDS" ] \\
    || fail "nodes still unreachable after \${waited}s: $(echo "$view" | awk '$3 ~ /fail/ || $8 != "connected" {printf "%s %s %s; ", $1, $2, $3}')"
  sleep 1
  waited=$((waited + 1))
done
wait_until_ok
`;
