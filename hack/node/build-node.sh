#!/usr/bin/env bash
# Builds the real node's own binaries from the Go module proxy, once, and caches them outside the
# repository keyed by version: containerd 2 (with its runc shim and ctr), CoreDNS, metrics-server
# and the sandbox ("pause") binary from the Kubernetes module. kubelet and kube-proxy come from the
# control plane's Kubernetes build (hack/build-control-plane.sh --with-node); runc and the CNI
# plugins from Debian's packages. Prints the binary directory on stdout; progress goes to stderr.
# Usage: hack/node/build-node.sh [--print-bin-dir]
set -euo pipefail

CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-v0.8.0}"
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
CACHE_ROOT="${GRAMINSTA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/graminsta}"
BIN_DIR="$CACHE_ROOT/node-bin/containerd-$CONTAINERD_VERSION-coredns-$COREDNS_VERSION-metrics-server-$METRICS_SERVER_VERSION-pause-$K8S_VERSION"
export GOFLAGS="${GOFLAGS:--mod=mod}"

say() { printf '[build-node %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ "${1:-}" == "--print-bin-dir" ]]; then echo "$BIN_DIR"; exit 0; fi
[[ $# -eq 0 ]] || { say "unknown argument: $1 (usage: $0 [--print-bin-dir])"; exit 2; }

need=(containerd containerd-shim-runc-v2 ctr coredns metrics-server pause)
missing=()
for b in "${need[@]}"; do [[ -x "$BIN_DIR/$b" ]] || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  say "cached: $BIN_DIR"
  echo "$BIN_DIR"
  exit 0
fi
command -v go >/dev/null || { say "go is required; not found on PATH"; exit 1; }
mkdir -p "$BIN_DIR"
work="$CACHE_ROOT/build"
mkdir -p "$work"
start=$(date +%s)

# shellcheck source=../lib/procs.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/procs.sh"

wanted() { [[ " ${missing[*]} " == *" $1 "* ]]; }

build_containerd() {
  local dir="$work/containerd-$CONTAINERD_VERSION"
  mkdir -p "$dir"
  cat > "$dir/go.mod" <<GOMOD
module graminsta.local/containerd-build

go 1.26.0

require github.com/containerd/containerd/v2 $CONTAINERD_VERSION
GOMOD
  cat > "$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
GO
  say "containerd $CONTAINERD_VERSION: resolving modules"
  (cd "$dir" && go mod tidy)
  local ld="-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
  local cmd
  for cmd in containerd containerd-shim-runc-v2 ctr; do
    wanted "$cmd" || continue
    run_with_heartbeat "$cmd $CONTAINERD_VERSION" bash -c "cd '$dir' && CGO_ENABLED=0 go build -trimpath -tags 'no_btrfs no_devmapper no_zfs' -ldflags '$ld' -o '$BIN_DIR/$cmd' github.com/containerd/containerd/v2/cmd/$cmd"
  done
}

build_go_install() { # name module@version
  local name="$1" target="$2"
  run_with_heartbeat "$name" env CGO_ENABLED=0 GOBIN="$BIN_DIR" go install -trimpath -ldflags '-s -w' "$target"
}

# The sandbox image's one binary ships as C source in the Kubernetes module.
build_pause() {
  local src
  src=$(cd "${TMPDIR:-/tmp}" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [[ -f "$src/build/pause/linux/pause.c" ]] || { say "pause.c not found in k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  command -v gcc >/dev/null || { say "gcc is required to build the pause binary"; exit 1; }
  gcc -Os -Wall -Werror -static -DVERSION="$K8S_VERSION" -o "$BIN_DIR/pause" "$src/build/pause/linux/pause.c"
  strip "$BIN_DIR/pause"
  say "pause: built from k8s.io/kubernetes@$K8S_VERSION build/pause/linux/pause.c"
}

say "building into $BIN_DIR (missing: ${missing[*]}); a cold build takes about 10 minutes on 2 cores"
if wanted containerd || wanted containerd-shim-runc-v2 || wanted ctr; then build_containerd; fi
wanted pause && build_pause
wanted coredns && build_go_install "coredns $COREDNS_VERSION" "github.com/coredns/coredns@$COREDNS_VERSION"
wanted metrics-server && build_go_install "metrics-server $METRICS_SERVER_VERSION" "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
say "all node binaries ready in $(( $(date +%s) - start ))s: $BIN_DIR"
echo "$BIN_DIR"
