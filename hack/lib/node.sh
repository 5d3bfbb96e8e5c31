# shellcheck shell=bash
# Sourced by the hack/ scripts (and by a shell that wants the same Node.js): puts Node.js >= 24 first on
# PATH and sets GRAMINSTA_NODE_BIN to its node binary. A machine whose own node is new enough keeps it;
# otherwise Node's own Linux build, shipped by npm's node-<os>-<arch> package, is installed once into
# $CACHE_ROOT/node/v<version>/bin/node (CACHE_ROOT as in hack/build-control-plane.sh) and used from there.
#   source hack/lib/node.sh && node --version

GRAMINSTA_NODE_VERSION="${GRAMINSTA_NODE_VERSION:-24.22.3}"
GRAMINSTA_NODE_MIN_MAJOR=24

# Prints the major version of the node binary $1, or 0 when it does not run.
_graminsta_node_major() {
  "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

# Downloads node-<os>-<arch>@$GRAMINSTA_NODE_VERSION with npm into $1 (a directory that does not exist yet).
_graminsta_node_install() {
  local dest="$1" os arch tmp
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unsupported ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=unsupported ;; esac
  if [[ "$os" == unsupported || "$arch" == unsupported ]]; then
    echo "[node] no Node.js $GRAMINSTA_NODE_VERSION build for $(uname -s)/$(uname -m); install Node.js >= $GRAMINSTA_NODE_MIN_MAJOR yourself" >&2
    return 1
  fi
  if ! command -v npm >/dev/null; then
    echo "[node] Node.js >= $GRAMINSTA_NODE_MIN_MAJOR is needed and npm is missing to fetch it (install Node.js >= $GRAMINSTA_NODE_MIN_MAJOR)" >&2
    return 1
  fi
  printf '[node %s] installing Node.js %s (npm package node-%s-%s) into %s\n' \
    "$(date +%H:%M:%S)" "$GRAMINSTA_NODE_VERSION" "$os" "$arch" "$dest" >&2
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp -d "$(dirname "$dest")/.install.XXXXXX")"
  if ! (cd "$tmp" && npm pack "node-$os-$arch@$GRAMINSTA_NODE_VERSION" --silent --no-audit --no-fund >/dev/null &&
    tar -xzf ./*.tgz && [[ "$(_graminsta_node_major package/bin/node)" -ge $GRAMINSTA_NODE_MIN_MAJOR ]]); then
    rm -rf "$tmp"
    echo "[node] could not install node-$os-$arch@$GRAMINSTA_NODE_VERSION from the npm registry" >&2
    return 1
  fi
  # A rename, so that a concurrent or interrupted run never leaves a half-extracted directory behind.
  [[ -x "$dest/bin/node" ]] || mv "$tmp/package" "$dest"
  rm -rf "$tmp"
}

# Chooses the node binary, installs it when needed, and exports PATH and GRAMINSTA_NODE_BIN.
_graminsta_node_setup() {
  local own cache dir
  own="$(command -v node || true)"
  if [[ -n "$own" && "$(_graminsta_node_major "$own")" -ge $GRAMINSTA_NODE_MIN_MAJOR ]]; then
    GRAMINSTA_NODE_BIN="$own"
  else
    cache="${GRAMINSTA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/graminsta}"
    dir="$cache/node/v$GRAMINSTA_NODE_VERSION"
    if [[ ! -x "$dir/bin/node" ]]; then
      _graminsta_node_install "$dir" || return 1
    fi
    PATH="$dir/bin:$PATH"
    GRAMINSTA_NODE_BIN="$dir/bin/node"
  fi
  export PATH GRAMINSTA_NODE_BIN
}

if ! _graminsta_node_setup; then
  echo "[node] Node.js >= $GRAMINSTA_NODE_MIN_MAJOR is required" >&2
  # shellcheck disable=SC2317 # return when sourced, exit when run as a script
  return 1 2>/dev/null || exit 1
fi
