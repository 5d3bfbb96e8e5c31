#!/usr/bin/env bash
# Wraps the node's own static binaries (hack/node/build-node.sh) into OCI image archives: the sandbox
# ("pause") image, CoreDNS and metrics-server. Cached by binary content in the images cache; prints
# one "<ref> <archive>" line per image like hack/node/build-images.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${GRAMINSTA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/graminsta}"
IMAGES="$CACHE/images"
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-v0.8.0}"
bin="$(bash "$HERE/build-node.sh")"
mkdir -p "$IMAGES"

# image NAME REF BINARY image-from-files flags...: builds once per binary content and wrapper script.
image() {
  local name="$1" ref="$2" binary="$3"; shift 3
  local key
  key=$(cat "$binary" "$HERE/image-from-files.sh" "$HERE/oci-image.ts" | sha256sum | cut -c1-16)
  local out="$IMAGES/$name-$key.oci.tar"
  if [[ ! -f "$out" ]]; then
    bash "$HERE/image-from-files.sh" --ref "$ref" --out "$out.tmp" "$@" >&2
    mv "$out.tmp" "$out"
  fi
  echo "$ref $out"
}

image pause "graminsta.local/pause:$K8S_VERSION" "$bin/pause" \
  --user 65535:65535 --entrypoint '["/pause"]' -- "$bin/pause:/pause"
image coredns "graminsta.local/coredns:$COREDNS_VERSION" "$bin/coredns" \
  --user 65532:65532 --entrypoint '["/coredns"]' -- "$bin/coredns:/coredns"
image metrics-server "graminsta.local/metrics-server:$METRICS_SERVER_VERSION" "$bin/metrics-server" \
  --user 65532:65532 --entrypoint '["/metrics-server"]' --ca-certs -- "$bin/metrics-server:/metrics-server"
