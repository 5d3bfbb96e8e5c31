#!/usr/bin/env bash
# Prints the path of one YAML file holding the Gateway API standard-channel CRDs, taken from the Go module
# sigs.k8s.io/gateway-api (the same source the project uses for kwok's stages). Test use only: the ingress
# fixture's integration test installs them. Cached under ${GRAMINSTA_CACHE:-$HOME/.cache/graminsta}.
# Usage: hack/gateway-api-crds.sh   (GATEWAY_API_VERSION overrides v1.7.0)
set -euo pipefail
VERSION="${GATEWAY_API_VERSION:-v1.7.0}"
CACHE="${GRAMINSTA_CACHE:-$HOME/.cache/graminsta}/gateway-api/$VERSION"
out="$CACHE/standard.yaml"
if [[ -s "$out" ]]; then echo "$out"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The module may declare a newer go than the local toolchain; that only fails the "Dir" step, the zip still arrives.
json=$(cd "$work" || exit 1; GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "sigs.k8s.io/gateway-api@$VERSION" || true)
field() { sed -n "s/.*\"$1\": \"\(.*\)\".*/\1/p" <<<"$json" | head -n1; }
dir=$(field Dir)
if [[ -z "$dir" || ! -d "$dir/config/crd/standard" ]]; then
  cached="$(go env GOMODCACHE)/sigs.k8s.io/gateway-api@$VERSION"
  if [[ -d "$cached/config/crd/standard" ]]; then
    dir="$cached"
  else
    zip=$(field Zip)
    [[ -n "$zip" && -s "$zip" ]] || { echo "gateway-api-crds: could not download sigs.k8s.io/gateway-api@$VERSION: $(field Error)" >&2; exit 1; }
    unzip -q "$zip" "sigs.k8s.io/gateway-api@$VERSION/config/crd/standard/*" -d "$work/src"
    dir="$work/src/sigs.k8s.io/gateway-api@$VERSION"
  fi
fi
std="$dir/config/crd/standard"
shopt -s nullglob
files=("$std"/gateway.networking.k8s.io_*.yaml)
[[ ${#files[@]} -gt 0 ]] || { echo "gateway-api-crds: no CRDs under $std" >&2; exit 1; }
mkdir -p "$CACHE"
tmp="$out.tmp.$$"
: > "$tmp"
for f in "${files[@]}"; do
  # Only CustomResourceDefinitions: the directory also holds a ValidatingAdmissionPolicy for upgrades.
  grep -q '^kind: CustomResourceDefinition' "$f" || continue
  echo "---" >> "$tmp"
  cat "$f" >> "$tmp"
done
mv "$tmp" "$out"
echo "$out"
