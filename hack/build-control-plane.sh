#!/usr/bin/env bash
# Builds the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok), with --with-node the real node's kubelet and kube-proxy (same
# Kubernetes build), and with --with-helm helm, from the Go module proxy, once, and caches the
# binaries outside the repository, keyed by version. Prints the binary directory.
# Usage: hack/build-control-plane.sh [--with-helm] [--with-node] [--print-bin-dir]
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${GRAMINSTA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/graminsta}"
BIN_DIR="$CACHE_ROOT/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-helm-$HELM_VERSION"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export CGO_ENABLED=0

say() { printf '[build-control-plane %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

need=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)
for arg in "$@"; do
  case "$arg" in
    --print-bin-dir) echo "$BIN_DIR"; exit 0 ;;
    --with-helm) need+=(helm) ;;
    --with-node) need+=(kubelet kube-proxy) ;;
    *) say "unknown argument: $arg (usage: $0 [--with-helm] [--with-node] [--print-bin-dir])"; exit 2 ;;
  esac
done
missing=()
for b in "${need[@]}"; do [[ -x "$BIN_DIR/$b" ]] || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 && -s "$BIN_DIR/kwok-stages/stages.yaml" ]]; then
  say "cached: $BIN_DIR"
  echo "$BIN_DIR"
  exit 0
fi
command -v go >/dev/null || { say "go is required (https://go.dev); not found on PATH"; exit 1; }
mkdir -p "$BIN_DIR"
work="$CACHE_ROOT/build"
mkdir -p "$work"
start=$(date +%s)

# shellcheck source=lib/procs.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/procs.sh"

build_kubernetes() {
  local dir="$work/kubernetes-$K8S_VERSION"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local staging_version="v0.${K8S_VERSION#v1.}"
  mkdir -p "$dir"
  say "kubernetes $K8S_VERSION: reading the staging modules from the release's go.mod"
  local gomod
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "module graminsta.local/kubernetes-build"
    echo
    echo "go 1.26.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } > "$dir/go.mod"
  cat > "$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
)
GO
  say "kubernetes $K8S_VERSION: resolving modules (go mod tidy)"
  (cd "$dir" && go mod tidy)
  local pkg="k8s.io/component-base/version" cgo="k8s.io/client-go/pkg/version"
  local ld="-s -w"
  for p in "$pkg" "$cgo"; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  for cmd in "${missing[@]}"; do
    case "$cmd" in
      kube-apiserver|kube-controller-manager|kube-scheduler|kubectl|kubelet|kube-proxy)
        run_with_heartbeat "$cmd $K8S_VERSION" bash -c "cd '$dir' && go build -trimpath -ldflags '$ld' -o '$BIN_DIR/$cmd' k8s.io/kubernetes/cmd/$cmd" ;;
    esac
  done
}

build_etcd() {
  local dir="$work/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat > "$dir/go.mod" <<GOMOD
module graminsta.local/etcd-build

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
  cat > "$dir/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  say "etcd $ETCD_VERSION: resolving modules"
  (cd "$dir" && go mod tidy)
  run_with_heartbeat "etcd $ETCD_VERSION" bash -c "cd '$dir' && go build -trimpath -ldflags '-s -w' -o '$BIN_DIR/etcd' go.etcd.io/etcd/server/v3"
}

build_go_install() { # name module@version
  local name="$1" target="$2"
  run_with_heartbeat "$name" env GOBIN="$BIN_DIR" go install -trimpath -ldflags '-s -w' "$target"
}

say "building into $BIN_DIR (missing: ${missing[*]}); a cold build takes several minutes on 2 cores"
[[ " ${missing[*]} " == *" etcd "* ]] && build_etcd
if [[ " ${missing[*]} " =~ " kube" ]]; then build_kubernetes; fi
[[ " ${missing[*]} " == *" kwok "* ]] && build_go_install "kwok $KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
[[ " ${missing[*]} " == *" helm "* ]] && build_go_install "helm $HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"

# kwok's stage files ship in its module; kwok v0.8.0 has no built-in stages.
"$(dirname "${BASH_SOURCE[0]}")/kwok-stages.sh" "$BIN_DIR"
say "all binaries ready in $(( $(date +%s) - start ))s: $BIN_DIR"
echo "$BIN_DIR"
