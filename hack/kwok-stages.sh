#!/usr/bin/env bash
# Writes the kwok Stage configuration (kwok v0.8 has no built-in stages) from the stage files that ship
# in kwok's own module: pods become Ready fast, Job pods complete, nodes heartbeat, PVCs get bound.
# Usage: hack/kwok-stages.sh BIN_DIR  (writes BIN_DIR/kwok-stages/stages.yaml and storage-class.yaml)
set -euo pipefail
BIN="$1"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
out="$BIN/kwok-stages"
mkdir -p "$out"
dir=$(cd "${TMPDIR:-/tmp}" && GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[[ -d "$dir/kustomize/stage" ]] || { echo "kwok-stages: kwok module source not found for $KWOK_VERSION" >&2; exit 1; }
files=(
  pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml
  node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  volume/fast/pvc-provision.yaml volume/fast/pv-bind.yaml volume/fast/pvc-delete.yaml volume/fast/pv-delete.yaml
)
tmp="$out/stages.yaml.tmp"
: > "$tmp"
for f in "${files[@]}"; do
  echo "---" >> "$tmp"
  cat "$dir/kustomize/stage/$f" >> "$tmp"
done
mv "$tmp" "$out/stages.yaml"
cp "$dir/kustomize/stage/volume/fast/storage-class.yaml" "$out/storage-class.yaml"
chmod -R u+w "$out"
