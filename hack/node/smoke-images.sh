#!/usr/bin/env bash
# Runs the images that build-images.sh wrote without a container runtime, the way the rendered pods run
# them: each archive's layer unpacked, the root file system read-only, /tmp an empty tmpfs, data
# directories bound in, the image's uid and Env, the operator's real scripts from the <app>-scripts
# ConfigMap at /scripts (operator/render/scripts/scripts.gen.ts, lib.sh inlined). Checks the postgres primary + replica scripts, a 6-node Redis Cluster formed
# by the form script, a service migration and API readiness against them, and the operator's start.
# Usage: hack/node/build-images.sh | hack/node/smoke-images.sh      (reads "<ref> <archive>" lines)
# Uses ports 25432-25433, 26380-26385 (+10000 cluster bus) and 28080-28081 on 127.0.0.1. Needs root, unshare.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/node.sh
source "$ROOT/hack/lib/node.sh"
log() { echo "smoke-images: $*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "must run as root (unshare, chroot to other uids)"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  # unshare --fork ignores SIGTERM; SIGKILL makes --kill-child end the namespace's processes with it.
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Unpacks archive $1 into $2/rootfs and writes its config's Env (one per line) to $2/env and User to $2/user.
unpack() {
  local archive="$1" dir="$2"
  mkdir -p "$dir/layout" "$dir/rootfs"
  tar -xf "$archive" -C "$dir/layout"
  node - "$dir" <<'JS'
const fs = require('node:fs');
const dir = process.argv[2];
const blob = (d) => fs.readFileSync(`${dir}/layout/blobs/sha256/${d.slice(7)}`);
const index = JSON.parse(fs.readFileSync(`${dir}/layout/index.json`, 'utf8'));
const manifest = JSON.parse(blob(index.manifests[0].digest));
const config = JSON.parse(blob(manifest.config.digest)).config;
fs.writeFileSync(`${dir}/env`, (config.Env ?? []).join('\n') + '\n');
fs.writeFileSync(`${dir}/user`, config.User ?? '0:0');
fs.writeFileSync(`${dir}/layer`, `${dir}/layout/blobs/sha256/${manifest.layers[0].digest.slice(7)}`);
JS
  tar -xzf "$(cat "$dir/layer")" -C "$dir/rootfs"
  rm -rf "$dir/layout"
}

# ns_command IMAGE_DIR [--bind HOST:CONTAINER[:ro]]... [--env K=V]... [--wd DIR] -- CMD...
# Sets NS_CMD to a command running CMD as the image's user with the image's Env in new mount and pid
# namespaces: read-only root, tmpfs /tmp, /dev and /proc, the binds.
NS_CMD=()
# shellcheck disable=SC2016 # the inner script's variables are its own.
ns_command() {
  local dir="$1"
  shift
  local binds=() envs=() wd=/
  while [ "$1" != -- ]; do
    case "$1" in
      --bind) binds+=("$2"); shift 2 ;;
      --env) envs+=("$2"); shift 2 ;;
      --wd) wd="$2"; shift 2 ;;
      *) fail "run: unknown option $1" ;;
    esac
  done
  shift
  local image_env=()
  mapfile -t image_env < <(grep -v '^$' "$dir/env")
  # --kill-child: when unshare is killed, the namespace's first process (and so all of it) dies too.
  NS_CMD=(unshare --mount --pid --kill-child --propagation private bash -c '
    set -eu
    r="$1"; user="$2"; wd="$3"; nbinds="$4"; shift 4
    mount --bind "$r" "$r"
    i=0
    while [ "$i" -lt "$nbinds" ]; do
      IFS=: read -r src dst mode <<< "$1"; shift
      mkdir -p "$r$dst" 2>/dev/null || true
      mount --bind "$src" "$r$dst"
      if [ "${mode:-}" = ro ]; then mount -o remount,bind,ro "$r$dst"; fi
      i=$((i + 1))
    done
    mkdir -p "$r/tmp" "$r/dev" "$r/proc"
    mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
    mount --rbind /dev "$r/dev"
    mount -t proc proc "$r/proc"
    mount -o remount,bind,ro "$r"
    nenv="$1"; shift
    vars=()
    while [ "${#vars[@]}" -lt "$nenv" ]; do vars+=("$1"); shift; done
    # env and unshare are the host'"'"'s (the service image has no tools): unshare enters the image as its user.
    # Not exec: this root shell stays the namespace'"'"'s first process, so --kill-child (which a uid change
    # would clear) ends it and with it every process in the namespace.
    env -i HOSTNAME=smoke "${vars[@]}" unshare --root="$r" --wd="$wd" --setuid="${user%:*}" --setgid="${user#*:}" "$@"
  ' run "$dir/rootfs" "$(cat "$dir/user")" "$wd" "${#binds[@]}" "${binds[@]}" \
    "$((${#image_env[@]} + ${#envs[@]}))" "${image_env[@]}" "${envs[@]}" "$@")
}

# run IMAGE_DIR [options] -- CMD...: ns_command's command in the foreground.
run() {
  ns_command "$@"
  "${NS_CMD[@]}"
}

# Starts run ... in the background, logging to $WORK/<name>.log; records its pid.
start() {
  local name="$1"
  shift
  ns_command "$@"
  (exec "${NS_CMD[@]}" > "$WORK/$name.log" 2>&1) &
  PIDS+=("$!")
}

# Waits up to $2 seconds for command "${@:3}" to succeed; shows log $1 when it does not.
wait_for() {
  local name="$1" seconds="$2"
  shift 2
  local i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt "$seconds" ] || { cat "$WORK/$name.log" >&2; fail "$name: not ready after ${seconds}s"; }
    sleep 1
  done
}

data_dir() { mkdir -p "$WORK/$1"; chown "$2" "$WORK/$1"; echo "$WORK/$1"; }

# shellcheck disable=SC2016 # TypeScript template literals, not shell.
scripts_dir() {
  [ -d "$WORK/scripts" ] && return 0
  mkdir -p "$WORK/scripts"
  (cd "$ROOT" && node_modules/.bin/tsx -e '
    import { SCRIPTS } from "./operator/render/scripts/scripts.gen.ts";
    import { writeFileSync } from "node:fs";
    for (const [name, text] of Object.entries(SCRIPTS)) writeFileSync(`${process.argv[1]}/${name}`, text);
  ' "$WORK/scripts")
}

PG="" REDIS="" SERVICE="" OPERATOR=""
while read -r ref archive; do
  [ -n "$ref" ] || continue
  [ -f "$archive" ] || fail "$archive (for $ref) does not exist"
  name="${ref%:*}"
  name="${name##*/}"
  log "unpacking $ref"
  unpack "$archive" "$WORK/img-$name"
  case "$name" in
    postgres) PG="$WORK/img-$name" ;;
    redis) REDIS="$WORK/img-$name" ;;
    graminsta-service) SERVICE="$WORK/img-$name" ;;
    graminsta-operator) OPERATOR="$WORK/img-$name" ;;
    *) log "no smoke test for $ref" ;;
  esac
done

if [ -n "$PG" ]; then
  scripts_dir
  run "$PG" -- postgres --version | grep -q '(PostgreSQL) 15\.' || fail "postgres --version is not 15"
  for b in initdb pg_ctl psql postgres pg_isready pg_basebackup sh date mkdir rm cat sed tr touch mv rmdir; do
    run "$PG" -- sh -c "command -v $b" >/dev/null || fail "postgres image: $b is not on PATH"
  done
  pgenv=(--env POSTGRES_APP_PASSWORD=app-pw --env POSTGRES_REPLICATION_PASSWORD=repl-pw --env PGDATA=/var/lib/postgresql/data/pgdata)
  # POSTGRES_BIN_DIR as the operator renders it for spec version 16: absent here, PATH finds version 15.
  start pg-primary "$PG" --bind "$(data_dir pg-primary 999:999):/var/lib/postgresql/data" --bind "$WORK/scripts:/scripts:ro" \
    "${pgenv[@]}" --env POSTGRES_PORT=25432 --env POSTGRES_BIN_DIR=/usr/lib/postgresql/16/bin -- sh /scripts/postgres-primary.sh
  wait_for pg-primary 90 run "$PG" -- pg_isready -q -h 127.0.0.1 -p 25432
  log "postgres primary (postgres-primary.sh) is ready"
  run "$PG" --env PGPASSWORD=app-pw -- psql -X -q -h 127.0.0.1 -p 25432 -U graminsta -d graminsta -tAc 'CREATE TABLE smoke (x int); INSERT INTO smoke VALUES (42)' \
    || fail "the application role cannot write its database"
  start pg-replica "$PG" --bind "$(data_dir pg-replica 999:999):/var/lib/postgresql/data" --bind "$WORK/scripts:/scripts:ro" \
    "${pgenv[@]}" --env POSTGRES_PORT=25433 --env POSTGRES_PRIMARY_HOST=127.0.0.1 --env POSTGRES_PRIMARY_PORT=25432 -- sh /scripts/postgres-replica.sh
  wait_for pg-replica 90 run "$PG" -- pg_isready -q -h 127.0.0.1 -p 25433
  got=""
  for _ in $(seq 1 30); do
    got=$(run "$PG" --env PGPASSWORD=app-pw -- psql -X -h 127.0.0.1 -p 25433 -U graminsta -d graminsta -tAc 'SELECT pg_is_in_recovery(), (SELECT x FROM smoke)' 2>/dev/null || true)
    [ "$got" != "t|42" ] || break
    sleep 1
  done
  [ "$got" = "t|42" ] || { cat "$WORK/pg-replica.log" >&2; fail "replica (postgres-replica.sh) did not stream the primary's data: got '$got'"; }
  log "postgres replica (postgres-replica.sh, pg_basebackup) streams from the primary"
fi

if [ -n "$REDIS" ]; then
  scripts_dir
  run "$REDIS" -- redis-server --version | grep -q 'v=7\.0\.' || fail "redis-server --version is not 7.0"
  for b in redis-server redis-cli sh tr sed awk grep getent hostname date mkdir sleep; do
    run "$REDIS" -- sh -c "command -v $b" >/dev/null || fail "redis image: $b is not on PATH"
  done
  nodes=""
  for port in 26380 26381 26382 26383 26384 26385; do nodes="$nodes${nodes:+,}127.0.0.1:$port"; done
  for port in 26380 26381 26382 26383 26384 26385; do
    start "redis-$port" "$REDIS" --bind "$(data_dir "redis-$port" 999:999):/data" --bind "$WORK/scripts:/scripts:ro" \
      --env REDIS_MODE=cluster --env REDIS_PORT="$port" --env REDIS_PASSWORD=redis-pw --env REDISCLI_AUTH=redis-pw \
      --env POD_IP=127.0.0.1 --env REDIS_CLUSTER_NODES="$nodes" -- sh /scripts/redis-node.sh
  done
  for port in 26380 26381 26382 26383 26384 26385; do
    wait_for "redis-$port" 30 run "$REDIS" --env REDISCLI_AUTH=redis-pw -- sh -c "redis-cli -p $port ping | grep -q PONG"
  done
  run "$REDIS" --bind "$WORK/scripts:/scripts:ro" --env REDIS_CLUSTER_NODES="$nodes" --env REDIS_PASSWORD=redis-pw \
    --env REDIS_CLUSTER_REPLICAS=1 -- sh /scripts/redis-cluster-form.sh > "$WORK/redis-form.log" 2>&1 \
    || { cat "$WORK/redis-form.log" >&2; fail "redis-cluster-form.sh did not form the cluster"; }
  log "redis cluster of 6 (redis-node.sh, redis-cluster-form.sh) is ok"
fi

if [ -n "$SERVICE" ]; then
  run "$SERVICE" -- /usr/local/bin/node -e 'if (process.version !== "v24.22.3" || process.getuid() !== 1000) process.exit(1)' \
    || fail "service image: node is not v24.22.3 running as 1000"
  if [ -n "$PG" ]; then
    dbenv=(--env GRAMINSTA_DB_HOST=127.0.0.1 --env GRAMINSTA_DB_PORT=25432 --env GRAMINSTA_DB_USER=graminsta --env GRAMINSTA_DB_NAME=graminsta --env GRAMINSTA_DB_PASSWORD=app-pw)
    run "$SERVICE" --wd /app "${dbenv[@]}" --env GRAMINSTA_MODE=migrate -- /usr/local/bin/node dist/service/main.js > "$WORK/migrate.log" 2>&1 \
      || { cat "$WORK/migrate.log" >&2; fail "service migrate mode failed"; }
    log "service GRAMINSTA_MODE=migrate ran its migrations on the postgres image"
    redisenv=()
    [ -z "$REDIS" ] || redisenv=(--env GRAMINSTA_REDIS_MODE=cluster --env GRAMINSTA_REDIS_NODES=127.0.0.1:26380 --env GRAMINSTA_REDIS_PASSWORD=redis-pw)
    start service-api "$SERVICE" --wd /app "${dbenv[@]}" "${redisenv[@]}" --env PORT=28080 --env GRAMINSTA_METRICS_PORT=29090 --env GRAMINSTA_TOKEN_SECRET=smoke-secret-smoke-secret-smoke-secret \
      --env GRAMINSTA_STORAGE=volume --env GRAMINSTA_VOLUME_PATH=/tmp/images -- /usr/local/bin/node dist/service/main.js
    wait_for service-api 60 curl -fsS http://127.0.0.1:28080/readyz
    log "service API is ready (/readyz) with the postgres${REDIS:+ and redis} images"
  fi
fi

if [ -n "$OPERATOR" ]; then
  run "$OPERATOR" -- /usr/local/bin/node -e 'if (process.version !== "v24.22.3" || process.getuid() !== 65532) process.exit(1)' \
    || fail "operator image: node is not v24.22.3 running as 65532"
  start operator "$OPERATOR" --wd /app --env GRAMINSTA_HTTP_PORT=28081 --env GRAMINSTA_HTTP_HOST=127.0.0.1 -- /usr/local/bin/node --max-semi-space-size=2 --memory-saver-mode dist/operator/main.js
  wait_for operator 30 grep -q '"msg":"starting"' "$WORK/operator.log"
  log "operator starts (dist/operator/main.js)"
fi
log "all checks passed"
