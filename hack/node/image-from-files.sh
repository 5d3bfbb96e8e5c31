#!/usr/bin/env bash
# Wraps static binaries (CoreDNS, metrics-server, pause, ...) into an OCI image archive, distroless-static
# style: the given files, /etc/passwd and /etc/group (root, nonroot 65532, nobody 65534), /tmp, and the
# host's CA bundle with --ca-certs. Files are root-owned; mode 0755 unless given.
# Usage: hack/node/image-from-files.sh --ref REF --out FILE [--ca-certs] [oci-image.ts flags...] -- SRC:DEST[:MODE]...
#   e.g. hack/node/image-from-files.sh --ref graminsta.local/pause:3.10 --out pause.oci.tar \
#          --user 65535:65535 --entrypoint '["/pause"]' -- "$bin/pause:/pause"
# oci-image.ts flags: --user --env --entrypoint --cmd --workdir --port --label --stop-signal (see its header).
set -euo pipefail
umask 022

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fail() { echo "image-from-files: error: $*" >&2; exit 1; }

flags=()
files=()
ca_certs=0
ref=""
out=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --) shift; files=("$@"); break ;;
    --ca-certs) ca_certs=1; shift ;;
    --ref) [ "$#" -ge 2 ] || fail "--ref needs a value"; ref="$2"; shift 2 ;;
    --out) [ "$#" -ge 2 ] || fail "--out needs a value"; out="$2"; shift 2 ;;
    --user | --env | --entrypoint | --cmd | --workdir | --port | --label | --stop-signal)
      [ "$#" -ge 2 ] || fail "$1 needs a value"; flags+=("$1" "$2"); shift 2 ;;
    *) fail "unknown argument '$1' (files go after --)" ;;
  esac
done
[ -n "$ref" ] || fail "--ref is required"
[ -n "$out" ] || fail "--out is required"
[ "${#files[@]}" -gt 0 ] || fail "no files given (SRC:DEST[:MODE] after --)"
[ "$(id -u)" -eq 0 ] || fail "must run as root (the image's files are owned by uid 0)"

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
chmod 0755 "$rootfs"
mkdir -p "$rootfs/etc" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\nnobody:x:65534:\n' > "$rootfs/etc/group"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
if [ "$ca_certs" -eq 1 ]; then
  [ -f /etc/ssl/certs/ca-certificates.crt ] || fail "--ca-certs: /etc/ssl/certs/ca-certificates.crt is missing on this host"
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
fi

for spec in "${files[@]}"; do
  IFS=: read -r src dest mode extra <<< "$spec"
  if [ -n "${extra:-}" ] || [ -z "${src:-}" ] || [ -z "${dest:-}" ]; then fail "file must be SRC:DEST[:MODE], got '$spec'"; fi
  case "$dest" in /*) ;; *) fail "DEST must be an absolute path in the image, got '$dest' in '$spec'" ;; esac
  case "$dest" in */../* | */.. | */./* | */.) fail "DEST must not contain . or .. components, got '$dest'" ;; esac
  mode="${mode:-0755}"
  case "$mode" in [0-7][0-7][0-7] | [0-7][0-7][0-7][0-7]) ;; *) fail "MODE must be octal like 0755, got '$mode' in '$spec'" ;; esac
  [ -f "$src" ] || fail "source file $src (in '$spec') does not exist"
  install -D -o 0 -g 0 -m "$mode" "$src" "$rootfs$dest"
done

"$ROOT/node_modules/.bin/tsx" "$ROOT/hack/node/oci-image.ts" --rootfs "$rootfs" --out "$out" --ref "$ref" "${flags[@]}"
