#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: Node.js 24 (when the machine's is older), npm packages,
# Debian packages (as root), Schemathesis and the control-plane binaries. Safe to run again: each step is skipped when already done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Node.js >= 24: the machine's own when new enough, else installed once into the cache (hack/lib/node.sh).
# shellcheck source=SCRIPTDIR/lib/node.sh
source hack/lib/node.sh
say "Node.js $(node --version) ($GRAMINSTA_NODE_BIN)"

# Debian packages: PostgreSQL and Redis for the service tests, python3-venv for Schemathesis, Lua for the Argo CD health check,
# Chromium for the browser tests, shellcheck for the lint step.
need_pkgs=()
[[ -x /usr/lib/postgresql/15/bin/postgres || -n "$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null)" ]] || need_pkgs+=(postgresql)
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null || need_pkgs+=(redis-tools)
command -v lua5.4 >/dev/null || need_pkgs+=(lua5.4)
command -v chromium >/dev/null || need_pkgs+=(chromium)
command -v openssl >/dev/null || need_pkgs+=(openssl)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_pkgs+=(python3-venv)
# The real node (hack/node/): runc, CNI plugins, iptables and conntrack for kube-proxy, nginx for the
# ingress fixture, mmdebstrap for the images' root filesystems, gcc for the pause binary.
command -v runc >/dev/null || need_pkgs+=(runc)
[[ -x /usr/lib/cni/bridge ]] || need_pkgs+=(containernetworking-plugins)
command -v iptables >/dev/null || need_pkgs+=(iptables)
command -v conntrack >/dev/null || need_pkgs+=(conntrack)
command -v nginx >/dev/null || need_pkgs+=(nginx-light)
command -v mmdebstrap >/dev/null || need_pkgs+=(mmdebstrap)
command -v gcc >/dev/null || need_pkgs+=(gcc libc6-dev)
command -v shellcheck >/dev/null || need_pkgs+=(shellcheck)
if ((${#need_pkgs[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    say "missing: ${need_pkgs[*]} (install them with your package manager; not root, so not installing)"
  fi
fi
# The stock Redis service would take port 6379; the tests start their own servers.
if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then systemctl stop redis-server || true; fi

stamp="node_modules/.graminsta-lock-hash"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
else
  say "npm packages up to date"
fi

# Schemathesis for the OpenAPI contract test (test/service/openapi/), in its own virtualenv in the cache;
# reinstalled only when the pinned version changes.
SCHEMATHESIS_VERSION=4.32.5
st_venv="${GRAMINSTA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/graminsta}/schemathesis-venv"
if [[ "$("$st_venv/bin/schemathesis" --version 2>/dev/null)" != *"version $SCHEMATHESIS_VERSION" ]]; then
  say "installing Schemathesis $SCHEMATHESIS_VERSION into $st_venv"
  rm -rf "$st_venv"
  python3 -m venv "$st_venv"
  "$st_venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
else
  say "Schemathesis $SCHEMATHESIS_VERSION up to date"
fi

say "control-plane binaries"
bash hack/build-control-plane.sh --with-helm --with-node >/dev/null
if [[ $(id -u) -eq 0 && "${GRAMINSTA_REAL_NODE:-auto}" != 0 ]]; then
  say "real node binaries (containerd, CoreDNS, metrics-server, pause) and images"
  bash hack/node/build-node.sh >/dev/null
  bash hack/node/build-images.sh >/dev/null
  bash hack/node/build-node-images.sh >/dev/null
fi
say "ready"
