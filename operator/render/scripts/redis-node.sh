#!/bin/sh
# graminsta redis node entrypoint: runs redis-server standalone, or as a Redis Cluster node that keeps its cluster formed across restarts with new IPs
# and, when it starts empty (a new volume) while the cluster already has its wanted primaries, joins it as a replica of the primary with the fewest.
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
#   REDIS_PASSWORD_FILE              default (empty)                       a file holding REDIS_PASSWORD (the Secret key mounted as a volume); set one of the two
#   REDIS_BIND                       default "* -::*"                      bind addresses
#   REDIS_ANNOUNCE_IP                default POD_IP, else `hostname -i`    address this node announces to the cluster (cluster mode)
#   POD_IP                           set from the downward API (status.podIP)  default for REDIS_ANNOUNCE_IP
#   REDIS_ANNOUNCE_HOSTNAME          default (empty)                       this node's stable DNS name, announced as cluster-announce-hostname (cluster mode)
#   REDIS_CLUSTER_NODES              default (empty)                       the wanted nodes' stable addresses, host:port[@busport] separated by spaces or commas; re-met after a restart, and an empty node joins only when it is one of them (cluster mode)
#   REDIS_CLUSTER_NODES_FILE         default (empty)                       a file holding REDIS_CLUSTER_NODES, read each time it is used (a ConfigMap key: a resize changes it without restarting the pods); set one of the two
#   REDIS_CLUSTER_REPLICAS           default 1                             replicas per primary (cache.replicasPerShard): an empty node joins as a replica only when the wanted nodes hold nodes / (1 + replicas) primaries
#   REDIS_CLUSTER_REPLICAS_FILE      default (empty)                       a file holding REDIS_CLUSTER_REPLICAS, read each time it is used; set one of the two
#   REDIS_CLUSTER_NODE_TIMEOUT_MS    default 15000                         cluster-node-timeout
#   REDIS_MAXMEMORY                  default (empty: no limit)             maxmemory, e.g. 200mb (evicts allkeys-lru when set)
#   REDIS_REJOIN_TIMEOUT_SECONDS     default 300                           how long a restarted node keeps re-meeting its peers until the cluster is ok, and an empty one tries to join
# mounts:
#   REDIS_DATA_DIR   the data volume (PersistentVolumeClaim in cluster mode: nodes.conf must survive restarts), writable by uid 999
#   /tmp             emptyDir (the generated redis.conf; the root filesystem is read-only)
# The cache is not persisted (no RDB snapshots, no AOF): only the cluster's shape survives a restart.
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${0%/*}/lib.sh"

REDIS_MODE="${REDIS_MODE:-cluster}"
REDIS_BIN_DIR="${REDIS_BIN_DIR:-}"
REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_DATA_DIR="${REDIS_DATA_DIR:-/data}"
REDIS_RUNTIME_DIR="${REDIS_RUNTIME_DIR:-/tmp}"
REDIS_PASSWORD=$(secret_value REDIS_PASSWORD "${REDIS_PASSWORD:-}" "${REDIS_PASSWORD_FILE:-}")
REDIS_BIND="${REDIS_BIND:-* -::*}"
REDIS_ANNOUNCE_HOSTNAME="${REDIS_ANNOUNCE_HOSTNAME:-}"
REDIS_CLUSTER_NODES="${REDIS_CLUSTER_NODES:-}"
REDIS_CLUSTER_NODES_FILE="${REDIS_CLUSTER_NODES_FILE:-}"
REDIS_CLUSTER_REPLICAS="${REDIS_CLUSTER_REPLICAS:-}"
REDIS_CLUSTER_REPLICAS_FILE="${REDIS_CLUSTER_REPLICAS_FILE:-}"
REDIS_CLUSTER_NODE_TIMEOUT_MS="${REDIS_CLUSTER_NODE_TIMEOUT_MS:-15000}"
REDIS_MAXMEMORY="${REDIS_MAXMEMORY:-}"
REDIS_REJOIN_TIMEOUT_SECONDS="${REDIS_REJOIN_TIMEOUT_SECONDS:-300}"

use_bin_dir "$REDIS_BIN_DIR"


number REDIS_PORT "$REDIS_PORT"
REDIS_CLUSTER_BUS_PORT="${REDIS_CLUSTER_BUS_PORT:-$((REDIS_PORT + 10000))}"
number REDIS_CLUSTER_BUS_PORT "$REDIS_CLUSTER_BUS_PORT"
number REDIS_CLUSTER_NODE_TIMEOUT_MS "$REDIS_CLUSTER_NODE_TIMEOUT_MS"
number REDIS_REJOIN_TIMEOUT_SECONDS "$REDIS_REJOIN_TIMEOUT_SECONDS"
case "$REDIS_MODE" in cluster|standalone) ;; *) fail "REDIS_MODE must be cluster or standalone, got '$REDIS_MODE'" ;; esac
[ -z "$REDIS_CLUSTER_NODES" ] || [ -z "$REDIS_CLUSTER_NODES_FILE" ] || fail "REDIS_CLUSTER_NODES and REDIS_CLUSTER_NODES_FILE are both set; set one of them"
[ -z "$REDIS_CLUSTER_REPLICAS" ] || [ -z "$REDIS_CLUSTER_REPLICAS_FILE" ] || fail "REDIS_CLUSTER_REPLICAS and REDIS_CLUSTER_REPLICAS_FILE are both set; set one of them"
[ -z "$REDIS_CLUSTER_REPLICAS" ] || number REDIS_CLUSTER_REPLICAS "$REDIS_CLUSTER_REPLICAS"
# shellcheck disable=SC1003 # '\' is a quoted backslash, not an escaped quote
case "$REDIS_PASSWORD" in *'"'*|*'\'*) fail "REDIS_PASSWORD must not contain \" or \\" ;; esac
[ -d "$REDIS_DATA_DIR" ] || mkdir -p "$REDIS_DATA_DIR" || fail "REDIS_DATA_DIR $REDIS_DATA_DIR cannot be created"

conf="$REDIS_RUNTIME_DIR/redis-$REDIS_PORT.conf"
(
  umask 077
  {
    echo "port $REDIS_PORT"
    echo "bind $REDIS_BIND"
    echo "dir \"$REDIS_DATA_DIR\""
    echo 'daemonize no'
    echo 'save ""'
    echo 'appendonly no'
    if [ -n "$REDIS_PASSWORD" ]; then
      echo "requirepass \"$REDIS_PASSWORD\""
      echo "masterauth \"$REDIS_PASSWORD\""
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

REDIS_ANNOUNCE_IP="${REDIS_ANNOUNCE_IP:-${POD_IP:-}}"
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
# Runs redis-cli against ip:port ($1), printing the reply without carriage returns.
peer_cli() { addr="$1"; shift; REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --no-auth-warning -h "${addr%:*}" -p "${addr##*:}" "$@" | tr -d '\r'; }
local_info() { local_cli CLUSTER INFO 2>/dev/null | tr -d '\r' | sed -n "s/^$1://p"; }

# The wanted nodes (host:port[@busport] entries) and replicas per primary, read anew each time: the files follow a resize.
wanted_nodes() {
  if [ -n "$REDIS_CLUSTER_NODES_FILE" ]; then cat "$REDIS_CLUSTER_NODES_FILE" 2>/dev/null || true; else echo "$REDIS_CLUSTER_NODES"; fi | tr ',' ' '
}
wanted_replicas() {
  replicas="${REDIS_CLUSTER_REPLICAS:-1}"
  [ -z "$REDIS_CLUSTER_REPLICAS_FILE" ] || replicas=$(tr -d ' \n' < "$REDIS_CLUSTER_REPLICAS_FILE" 2>/dev/null || true)
  case "$replicas" in ''|*[!0-9]*) log "REDIS_CLUSTER_REPLICAS_FILE: '$replicas' is not a number; using 1"; replicas=1 ;; esac
  echo "$replicas"
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
    for entry in $(wanted_nodes); do
      hostport="${entry%@*}"
      host="${hostport%:*}"
      port="${hostport##*:}"
      bus=$((port + 10000))
      case "$entry" in *@*) bus="${entry##*@}" ;; esac
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
  log "cluster not ok after ${REDIS_REJOIN_TIMEOUT_SECONDS}s of re-meeting peers; giving up (the form script or a restart retries)"
}

# A node that starts empty joins the cluster by itself, as a replica of the wanted primary with the fewest wanted replicas,
# once it is one of the wanted nodes and a wanted peer reports cluster_state:ok, no open slot, and the wanted primaries
# (nodes / (1 + replicas)): a node whose volume was lost comes back without waiting for a form Job. New nodes of a grow
# see too few primaries and leave their role to the form Job. Then it forgets the failed identities without slots (the
# one it had before, typically) once the cluster agrees they failed.
self_join() {
  deadline=$(( $(date +%s) + REDIS_REJOIN_TIMEOUT_SECONDS ))
  me="$REDIS_ANNOUNCE_IP:$REDIS_PORT"
  until local_cli PING >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 0
    sleep 1
  done
  while [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 3
    if [ "$(local_info cluster_known_nodes)" != 1 ]; then
      # Met (by this loop, the form script or a cluster creation): done once it has a role with a primary or slots.
      local_cli CLUSTER NODES 2>/dev/null | awk '/myself/ && ($3 ~ /slave/ || NF > 8) {found = 1} END {exit !found}' && break
      [ -n "${primary:-}" ] || continue
      local_cli CLUSTER REPLICATE "$primary" 2>&1 | grep -q OK && break
      continue
    fi
    wanted=""
    buses=""
    for entry in $(wanted_nodes); do
      hostport="${entry%@*}"
      bus=$((${hostport##*:} + 10000))
      case "$entry" in *@*) bus="${entry##*@}" ;; esac
      ip=$(resolve "${hostport%:*}")
      [ -z "$ip" ] || { wanted="$wanted $ip:${hostport##*:}"; buses="$buses $ip:${hostport##*:}@$bus"; }
    done
    case " $wanted " in *" $me "*) ;; *) continue ;; esac
    count=$(echo "$wanted" | wc -w)
    masters=$((count / ($(wanted_replicas) + 1)))
    for entry in $buses; do
      peer="${entry%@*}"
      [ "$peer" != "$me" ] || continue
      peer_cli "$peer" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' || continue
      view=$(peer_cli "$peer" CLUSTER NODES 2>/dev/null)
      ! echo "$view" | grep -q 'myself.*\[' || continue
      primaries=$(echo "$view" | cluster_table "$wanted" | awk '$3 == "master" && $6 == "yes" && $5 > 0' | wc -l)
      [ "$primaries" -ge "$masters" ] || continue
      primary=$(echo "$view" | cluster_table "$wanted" | fewest_replicas_of "")
      [ "$(local_info cluster_known_nodes)" = 1 ] || break
      # By hand rather than redis-cli --cluster add-node, whose check of the cluster trips over this node's old identity
      # (failed, maybe at this very address).
      log "joining the cluster as a replica of $primary (this node started empty; via $peer)"
      local_cli CLUSTER MEET "${peer%:*}" "${peer##*:}" "${entry##*@}" >/dev/null 2>&1 || { log "could not meet $peer; trying again"; break; }
      tries=0
      until local_cli CLUSTER NODES 2>/dev/null | awk -v id="$primary" '$1 == id && $3 !~ /handshake|noaddr/ {found = 1} END {exit !found}'; do
        tries=$((tries + 1))
        [ "$tries" -lt 30 ] || break
        sleep 1
      done
      local_cli CLUSTER REPLICATE "$primary" 2>&1 | grep -q OK || log "CLUSTER REPLICATE $primary failed; trying again"
      break
    done
  done
  while [ "$(date +%s)" -lt "$deadline" ]; do
    view=$(local_cli CLUSTER NODES 2>/dev/null | tr -d '\r')
    echo "$view" | awk '$3 ~ /fail/ {found = 1} END {exit !found}' || return 0
    for id in $(echo "$view" | awk '$3 ~ /(^|,)fail(,|$)/ && $9 == "" {print $1}'); do
      log "forgetting failed node $id (the identity of a replaced node) on every node"
      for addr in $(echo "$view" | cluster_table "" | awk '$3 != "gone" {print $2}'); do peer_cli "$addr" CLUSTER FORGET "$id" >/dev/null 2>&1 || true; done
    done
    sleep 2
  done
}

nodes_conf="$REDIS_DATA_DIR/nodes.conf"
if [ -s "$nodes_conf" ]; then
  # Correct this node's own address before redis reads the file; the peers learn it from our pings.
  sed -i -E "/myself/ s/^([0-9a-f]+) [^ @]*:[0-9]+@[0-9]+/\\1 $REDIS_ANNOUNCE_IP:$REDIS_PORT@$REDIS_CLUSTER_BUS_PORT/" "$nodes_conf"
  known=$(grep -c -v -e '^vars' -e '^$' "$nodes_conf" || true)
  log "restarting cluster node $(awk '/myself/ {print $1}' "$nodes_conf") as $REDIS_ANNOUNCE_IP:$REDIS_PORT ($known nodes in nodes.conf)"
  if [ "$known" -gt 1 ] && [ -n "$(wanted_nodes)" ]; then
    rejoin_peers &
  elif [ -n "$(wanted_nodes)" ]; then
    self_join &
  fi
else
  log "starting a new cluster node as $REDIS_ANNOUNCE_IP:$REDIS_PORT (it joins a complete cluster by itself, else the form script joins it)"
  [ -z "$(wanted_nodes)" ] || self_join &
fi

exec redis-server "$conf" "$@"
