#!/usr/bin/env bash
# Stops the real node that hack/node/node-up.sh started and leaves the machine as it found it: the
# fixtures, the kubelet and kube-proxy, every pod's containers (while containerd still runs, so its
# shims exit), containerd, the kubelet's mounts, then the networking (hack/node/net-down.sh).
# Images and volume directories under the node root stay for the next start. Usage: node-down.sh STATE
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=node.env.sh
source "$HERE/node.env.sh"
STATE="${1:?state directory}"
say() { printf '[node-down %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

stop_pidfile() { # name: TERM its process group, then KILL after 5 s
  local f="$STATE/pids/$1.pid" p
  [[ -f "$f" ]] || return 0
  p=$(cat "$f")
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null
  rm -f "$f"
}

for name in ingress-controller local-provisioner kubelet kube-proxy; do stop_pidfile "$name"; done
node_bin="$(bash "$HERE/build-node.sh" --print-bin-dir)"
if [[ -S "$CONTAINERD_SOCK" && -x "$node_bin/ctr" ]] && "$node_bin/ctr" --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; then
  bash "$HERE/clean-containers.sh" "$node_bin/ctr" "$CONTAINERD_SOCK" "of this run's pods" >&2
fi
# Shims whose containers could not be removed (containerd already gone): by pid, never by name alone.
while read -r p; do [[ -n "$p" ]] && kill -KILL "$p" 2>/dev/null; done < <(pgrep -f -- "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true)
stop_pidfile containerd
# The kubelet bind-mounts its pods' volumes under its root; unmount deepest first.
if [[ -d "$KUBELET_ROOT" ]]; then
  findmnt -rn -o TARGET | grep -F "$KUBELET_ROOT" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  # A pod directory may hold a bind mount of a volume: remove pod directories only when nothing
  # is mounted there any more, so a failed unmount can never delete a volume's data.
  if grep -qF "$KUBELET_ROOT" < <(findmnt -rn -o TARGET); then
    say "mounts remain under $KUBELET_ROOT; leaving its pod directories"
  else
    rm -rf "$KUBELET_ROOT/pods" "$KUBELET_ROOT/plugins" "$KUBELET_ROOT/pod-resources" "$KUBELET_ROOT"/*_state 2>/dev/null
  fi
fi
findmnt -rn -o TARGET | grep -F "$NODE_RUN" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
rm -rf "$NODE_RUN"
bash "$HERE/net-down.sh"
say "stopped"
