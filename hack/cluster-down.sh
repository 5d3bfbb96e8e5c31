#!/usr/bin/env bash
# Stops the local control plane started by hack/cluster-up.sh: every process it started (also after a
# crash, found by the state directory on its command line), then checks that its ports are free.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${GRAMINSTA_CLUSTER_DIR:-$ROOT/.cluster}"
BASE_PORT="${GRAMINSTA_CLUSTER_PORT_BASE:-16440}"
quiet=false; [[ "${1:-}" == "--quiet" ]] && quiet=true
say() { $quiet || printf '[cluster-down %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# The real node first: its kubelet must stop before containerd, and containerd before the network.
if [[ -d "$STATE/node" || -f "$STATE/pids/kubelet.pid" || -f "$STATE/pids/containerd.pid" ]]; then
  say "stopping the real node"
  bash "$ROOT/hack/node/node-down.sh" "$STATE"
fi

pids=()
for f in "$STATE"/pids/*.pid; do [[ -f "$f" ]] && pids+=("$(cat "$f")"); done
# Processes whose command line names the state directory, in case a pid file was lost.
while read -r p; do [[ -n "$p" ]] && pids+=("$p"); done < <(pgrep -f -- "$STATE/" || true)
if ((${#pids[@]})); then
  say "stopping ${#pids[@]} process(es)"
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
fi
rm -f "$STATE"/pids/*.pid
for port in $(seq $((BASE_PORT + 1)) $((BASE_PORT + 6))); do
  for _ in $(seq 1 50); do
    [[ -n "$(ss -Htln "sport = :$port")" ]] || break
    sleep 0.1
  done
  if [[ -n "$(ss -Htln "sport = :$port")" ]]; then say "port $port is still in use"; exit 1; fi
done
say "stopped"
