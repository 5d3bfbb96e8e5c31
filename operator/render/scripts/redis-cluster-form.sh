#!/bin/sh
# graminsta redis cluster forming and resizing: brings the Redis Cluster to the nodes of REDIS_CLUSTER_NODES with REDIS_CLUSTER_REPLICAS replicas per primary; a no-op on a cluster of that shape.
# Creates the cluster once every node is up; grows it (new nodes become primaries, slots are rebalanced onto them, the rest become their replicas); shrinks it
# (slots move off every leaving primary, whatever its ordinal, replicas are re-pointed at the staying primaries, then the leaving nodes are deleted from the cluster);
# joins nodes that came back empty; optionally copies a standalone's keys in. Run it as a Job while every node, leaving ones included, still runs:
#   command: ["sh", "/scripts/redis-cluster-form.sh"]
# Exit 0 = the cluster has exactly the wanted nodes in the wanted shape with all 16384 slots; exit 1 = it has not (the log says why; a Job retries, and a
# run interrupted half-way is taken up again: open slots are fixed first).
# env:
#   REDIS_CLUSTER_NODES              required                              the wanted nodes' stable addresses, host:port[@busport] separated by spaces or commas (e.g. <app>-redis-0.<app>-redis-headless:6379 ...); cluster members not listed are leaving
#   REDIS_CLUSTER_REPLICAS           default 1                             replicas per primary (cache.replicasPerShard); primaries = nodes / (1 + replicas)
#   REDIS_IMPORT_FROM                default (empty)                       host:port of a standalone Redis (same password) whose keys are copied in, TTLs kept, once the cluster has its shape (cache.shards 1 -> >= 3)
#   REDIS_PASSWORD                   default (empty)                       the nodes' password (Secret)
#   REDIS_PASSWORD_FILE              default (empty)                       a file holding REDIS_PASSWORD (the Secret key mounted as a volume); set one of the two
#   REDIS_BIN_DIR                    default (empty: binaries from PATH)    directory holding redis-cli
#   REDIS_WAIT_TIMEOUT_SECONDS       default 600                           give up (exit 1) when a node is not reachable for this long; 0 = wait forever
#   REDIS_WAIT_MAX_DELAY_SECONDS     default 10                            upper bound of the backoff between reachability checks
#   REDIS_OK_TIMEOUT_SECONDS         default 120                           how long to wait for cluster_state:ok (and for a failover or a join) after changing the cluster
# mounts: none (the ConfigMap holding this script)
set -eu
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${0%/*}/lib.sh"

REDIS_CLUSTER_NODES="${REDIS_CLUSTER_NODES:-}"
REDIS_CLUSTER_REPLICAS="${REDIS_CLUSTER_REPLICAS:-1}"
REDIS_IMPORT_FROM="${REDIS_IMPORT_FROM:-}"
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
case "$REDIS_IMPORT_FROM" in ''|*:*) ;; *) fail "REDIS_IMPORT_FROM must be host:port, got '$REDIS_IMPORT_FROM'" ;; esac

# Runs redis-cli against ip:port ($1), printing the reply without carriage returns.
rcli() { addr="$1"; shift; redis-cli --no-auth-warning -h "${addr%:*}" -p "${addr##*:}" "$@" | tr -d '\r'; }
# Runs a redis-cli --cluster subcommand, its report on stderr.
cluster_cli() { redis-cli --no-auth-warning --cluster "$@" >&2; }
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

# The cluster as $seed sees it (cluster_table).
table() { rcli "$seed" CLUSTER NODES | cluster_table "$addrs"; }

# Waits until $seed sees the node at ip:port ($1) as a master or a replica ($2), not in a handshake.
wait_role() {
  waited=0
  until table | awk -v a="$1" -v r="$2" '$2 == a && $3 == r {found = 1} END {exit !found}'; do
    [ "$waited" -lt "$REDIS_OK_TIMEOUT_SECONDS" ] || fail "$1 is not a $2 in the view of $seed after ${REDIS_OK_TIMEOUT_SECONDS}s"
    sleep 1
    waited=$((waited + 1))
  done
}

# What node ip:port ($1) holds about the cluster: the roles (id, role, primary of each node not gone) and the slots of each
# node (open slots left out, as redis-cli's own consistency check leaves them out), one line each.
view_of() {
  view_nodes=$(rcli "$1" CLUSTER NODES)
  echo "$view_nodes" | cluster_table "$addrs" | awk '$3 != "gone" {print "role", $1, $3, $4}'
  echo "$view_nodes" | awk 'NF > 8 {s = ""; for (i = 9; i <= NF; i++) if ($i !~ /^\[/) s = s " " $i; if (s != "") print "slots", $1 s}'
}

# Waits until every node that is not gone holds the same view (view_of). redis-cli --cluster reads the roles from $seed
# alone, and a primary just demoted by a failover must not be sent SETSLOT as one; and add-node, rebalance and reshard
# refuse to start ("Nodes don't agree about configuration!") while a node, e.g. one added a moment ago, has not yet
# learnt every node's slots.
wait_agree() {
  waited=0
  while :; do
    views=$(for addr in $(table | awk '$3 != "gone" {print $2}'); do view_of "$addr" | sort | cksum; done | sort -u | wc -l)
    [ "$views" -gt 1 ] || return 0
    [ "$waited" -lt "$REDIS_OK_TIMEOUT_SECONDS" ] || fail "the nodes do not agree about the roles and slots after ${REDIS_OK_TIMEOUT_SECONDS}s (redis-cli --cluster check $seed)"
    sleep 1
    waited=$((waited + 1))
  done
}

# Makes the node at ip:port ($1) a replica of the primary with id $2 and waits until $seed sees it as one.
replicate() {
  rcli "$1" CLUSTER REPLICATE "$2" | grep -q OK || fail "CLUSTER REPLICATE $2 on $1 failed"
  wait_role "$1" replica
}

# The id of the wanted primary with the fewest wanted replicas, of the ids in $1 when given.
fewest_replicas() { table | fewest_replicas_of "${1:-}"; }

# Copies the keys of the standalone REDIS_IMPORT_FROM into the cluster (MIGRATE COPY REPLACE: TTLs kept, the source keeps its keys).
import_standalone() {
  [ -n "$REDIS_IMPORT_FROM" ] || return 0
  ip=$(resolve "${REDIS_IMPORT_FROM%:*}")
  [ -n "$ip" ] || fail "REDIS_IMPORT_FROM: $REDIS_IMPORT_FROM does not resolve"
  source="$ip:${REDIS_IMPORT_FROM##*:}"
  keys=$(rcli "$source" DBSIZE 2>&1)
  case "$keys" in ''|*[!0-9]*) fail "REDIS_IMPORT_FROM: $REDIS_IMPORT_FROM does not answer: $keys" ;; esac
  log "copying the $keys keys of the standalone $REDIS_IMPORT_FROM into the cluster (TTLs kept)"
  if [ -n "$REDIS_PASSWORD" ]; then
    printf '%s\n' "$REDIS_PASSWORD" | cluster_cli import "$seed" --cluster-from "$source" --cluster-from-askpass --cluster-copy --cluster-replace \
      || fail "copying the keys of $REDIS_IMPORT_FROM failed"
  else
    cluster_cli import "$seed" --cluster-from "$source" --cluster-copy --cluster-replace || fail "copying the keys of $REDIS_IMPORT_FROM failed"
  fi
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
  # shellcheck disable=SC2086
  set -- $addrs
  seed="$1"
  import_standalone
  exit 0
fi

if [ "$slots_max" -ne 16384 ]; then
  fail "the cluster has only $slots_max of 16384 slots assigned; not changing it automatically (inspect with redis-cli --cluster check, repair with --cluster fix)"
fi

# shellcheck disable=SC2086 # split the space-separated member list into the positional parameters
set -- $members
seed="$1"
started=$(date +%s)
changed=""

# Redis 7 turns a primary that lost its last slot into a replica of the new owner, and moves replicas to orphaned
# primaries, both at a moment of its own: redis-cli, which read the roles at its start, would then send SETSLOT to a
# replica. Off while this script changes roles and slots; on again at the end.
replica_migration() {
  for addr in $(table | awk '$3 != "gone" {print $2}'); do
    rcli "$addr" CONFIG SET cluster-allow-replica-migration "$1" >/dev/null 2>&1 || log "could not set cluster-allow-replica-migration $1 on $addr"
  done
}
replica_migration no

# A run that was interrupted while moving a slot leaves it open (migrating/importing, shown in the node's own line): close it first.
open_slots() {
  for addr in $(table | awk '$3 != "gone" {print $2}'); do
    rcli "$addr" CLUSTER NODES | grep -q 'myself.*\[' && return 0
  done
  return 1
}
if open_slots; then
  log "slots are left open by an interrupted move; fixing them (redis-cli --cluster fix)"
  cluster_cli fix "$seed" --cluster-yes || fail "redis-cli --cluster fix could not close the open slots"
  changed=yes
fi

# Nodes that know only themselves: new ones (a grow) become primaries while the wanted nodes have fewer than $masters,
# the others (and nodes that came back empty) replicas of the primary with the fewest.
for addr in $empty; do
  [ "$(info_field "$addr" cluster_known_nodes)" -le 1 ] || { log "$addr has joined meanwhile"; continue; }
  primaries=$(table | awk '$3 == "master" && $6 == "yes"' | wc -l)
  primary=""
  if [ "$primaries" -lt "$masters" ]; then
    log "adding $addr as a primary (the wanted nodes have $primaries of $masters primaries; via $seed)"
  else
    primary=$(fewest_replicas)
    log "joining $addr, which came back empty (or is new), as a replica of $primary, the primary with the fewest replicas (via $seed)"
  fi
  # Joined as an empty primary either way, not with add-node --cluster-slave: that sends CLUSTER REPLICATE once the
  # others know the node, which can be before the node knows the primary ("ERR Unknown node").
  cluster_cli add-node "$addr" "$seed" || fail "could not add $addr to the cluster"
  wait_role "$addr" master
  wait_agree
  if [ -n "$primary" ]; then
    replicate "$addr" "$primary"
    wait_agree
  fi
  changed=yes
done

wait_agree

# The replaced nodes' old identities stay behind, unreachable: once the cluster agrees they failed, forget them.
forget_failed() {
  waited=0
  while :; do
    view=$(rcli "$seed" CLUSTER NODES)
    for id in $(echo "$view" | awk '$3 ~ /(^|,)fail(,|$)/ && $9 == "" {print $1}'); do
      log "forgetting failed node $id (the identity of a replaced node) on every node"
      for addr in $(table | awk '$3 != "gone" {print $2}'); do rcli "$addr" CLUSTER FORGET "$id" >/dev/null 2>&1 || true; done
    done
    # Until then they show as disconnected, then fail? (suspected), then fail (agreed by the primaries).
    echo "$view" | awk '$3 ~ /fail/ || $8 != "connected" {found = 1} END {exit found}' && break
    [ "$waited" -lt "$REDIS_OK_TIMEOUT_SECONDS" ] \
      || fail "nodes still unreachable after ${waited}s: $(echo "$view" | awk '$3 ~ /fail/ || $8 != "connected" {printf "%s %s %s; ", $1, $2, $3}')"
    sleep 1
    waited=$((waited + 1))
  done
}
forget_failed

# The staying primaries: the wanted primaries that serve slots, most slots first, $masters of them.
keep=$(table | awk '$3 == "master" && $6 == "yes" && $5 > 0 {print $5, $1}' | sort -rn | awk -v m="$masters" 'NR <= m {print $2}' | tr '\n' ' ')
short() { [ "$(echo "$keep" | wc -w)" -lt "$masters" ]; }
# Too few: a leaving primary (any ordinal may be one after a failover) hands its role to a wanted replica of it, without losing writes.
if short; then
  for line in $(table | awk '$3 == "replica" && $6 == "yes" {print $2 "/" $4}'); do
    short || break
    addr="${line%/*}"
    of="${line#*/}"
    table | awk -v id="$of" '$1 == id && $3 == "master" && $6 == "no" && $5 > 0 {found = 1} END {exit !found}' || continue
    case " $keep " in *" $of "*) continue ;; esac
    log "failing over to $addr, a wanted replica of the leaving primary $of, so that a staying node serves its slots"
    rcli "$addr" CLUSTER FAILOVER >/dev/null || fail "CLUSTER FAILOVER on $addr failed"
    wait_role "$addr" master
    keep="$keep $(rcli "$addr" CLUSTER MYID)"
    changed=yes
  done
fi
# Still too few: wanted primaries without slots (just added) receive some.
if short; then
  for id in $(table | awk '$3 == "master" && $6 == "yes" && $5 == 0 {print $1}'); do
    short || break
    keep="$keep $id"
  done
fi
short && fail "only $(echo "$keep" | wc -w) of the $masters primaries can be found among the wanted nodes; see redis-cli --cluster check $seed"

wait_agree

# Move the slots: every primary that is not staying drains to 0 (weight 0), the staying ones even out (empty ones included).
weights=$(table | awk -v keep=" $keep " '$3 == "master" && !index(keep, " " $1 " ") {printf "%s=0 ", $1}')
draining=$(table | awk -v keep=" $keep " '$3 == "master" && $5 > 0 && !index(keep, " " $1 " ") {printf "%s ", $1}')
log "staying primaries: $keep; leaving or surplus primaries: ${draining:-none}"
# shellcheck disable=SC2086 # one --cluster-weight argument per node
cluster_cli rebalance "$seed" --cluster-use-empty-masters ${weights:+--cluster-weight $weights} || fail "redis-cli --cluster rebalance failed"
# Rebalancing may leave a few slots behind (rounding): move what remains to the staying primary with the fewest.
for id in $draining; do
  left=$(table | awk -v id="$id" '$1 == id {print $5}')
  [ "${left:-0}" -gt 0 ] || continue
  to=$(table | awk -v keep=" $keep " '$3 == "master" && index(keep, " " $1 " ") {print $5, $1}' | sort -n | awk 'NR == 1 {print $2}')
  log "moving the last $left slots of $id to $to"
  wait_agree
  cluster_cli reshard "$seed" --cluster-from "$id" --cluster-to "$to" --cluster-slots "$left" --cluster-yes || fail "could not move the slots of $id"
done
[ -z "$draining" ] || changed=yes

# Every other wanted node replicates a staying primary, $REDIS_CLUSTER_REPLICAS per primary: replicas of a staying primary
# stay where they are up to that number, the rest (surplus primaries, replicas of leaving ones) go where one is missing.
for addr in $(table | awk -v keep=" $keep " -v r="$REDIS_CLUSTER_REPLICAS" '
    $6 == "yes" && $3 != "gone" && !index(keep, " " $1 " ") {
      if ($3 == "replica" && index(keep, " " $4 " ") && n[$4] + 0 < r) n[$4]++; else print $2
    }'); do
  primary=$(fewest_replicas "$keep")
  log "pointing $addr at the staying primary $primary (CLUSTER REPLICATE)"
  replicate "$addr" "$primary"
  changed=yes
done

wait_agree

# The leaving nodes, now without slots: replicas first (deleting a primary would re-point them), then the primaries.
for id in $(table | awk '$6 == "no" && $3 == "replica" {print $1}') $(table | awk '$6 == "no" && $3 == "master" {print $1}'); do
  log "deleting the leaving node $id from the cluster"
  cluster_cli del-node "$seed" "$id" || fail "could not delete the leaving node $id"
  changed=yes
done

replica_migration yes
wait_until_ok
primaries=$(table | awk '$3 == "master" && $5 > 0' | wc -l)
nodes=$(table | wc -l)
{ [ "$primaries" -eq "$masters" ] && [ "$nodes" -eq "$count" ]; } \
  || fail "the cluster has $primaries primaries serving slots and $nodes nodes; wanted $masters and $count"
if [ -n "$changed" ]; then
  log "the cluster has its wanted shape: $masters primaries, $count nodes (changed in $(( $(date +%s) - started ))s)"
else
  log "the cluster is already formed in its wanted shape (cluster_state:ok on $seed); nothing to do"
fi
import_standalone
