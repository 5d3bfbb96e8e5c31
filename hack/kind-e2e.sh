#!/usr/bin/env bash
# End-to-end on a machine with Docker: create a kind cluster, build and load the operator and service
# images, install the chart, apply the sample app, wait for Ready, run the end-to-end suite through
# KUBECONFIG, and delete the cluster (also on failure; KEEP_CLUSTER=1 keeps it for debugging).
#   bash hack/kind-e2e.sh            # everything
#   E2E_TESTS='test/operator/**/*.int.test.ts' bash hack/kind-e2e.sh   # another suite
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=SCRIPTDIR/lib/node.sh
source hack/lib/node.sh
say() { printf '\n[kind-e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[kind-e2e] %s\n' "$*" >&2; exit 1; }

CLUSTER="${KIND_CLUSTER_NAME:-graminsta-e2e}"
NAMESPACE=graminsta-system
APP_NAMESPACE=photos
VERSION="$(node -p 'require("./package.json").version')"
OPERATOR_IMAGE="ghcr.io/graminsta/graminsta-operator:$VERSION"
SERVICE_IMAGE="ghcr.io/graminsta/graminsta-service:$VERSION"
E2E_TESTS="${E2E_TESTS:-test/e2e/**/*.e2e.test.ts}"

missing=()
command -v docker >/dev/null || missing+=("docker (https://docs.docker.com/engine/install/)")
command -v kind >/dev/null || missing+=("kind (go install sigs.k8s.io/kind@latest, or https://kind.sigs.k8s.io/docs/user/quick-start/#installation)")
BIN_DIR="$(bash hack/build-control-plane.sh --print-bin-dir 2>/dev/null || true)"
KUBECTL="$(command -v kubectl || true)"; [[ -z "$KUBECTL" && -x "$BIN_DIR/kubectl" ]] && KUBECTL="$BIN_DIR/kubectl"
HELM="$(command -v helm || true)"; [[ -z "$HELM" && -x "$BIN_DIR/helm" ]] && HELM="$BIN_DIR/helm"
[[ -n "$KUBECTL" ]] || missing+=("kubectl (on PATH, or run bash hack/build-control-plane.sh)")
[[ -n "$HELM" ]] || missing+=("helm (on PATH, or run bash hack/build-control-plane.sh)")
if ((${#missing[@]})); then
  printf '[kind-e2e] missing: %s\n' "${missing[@]}" >&2
  exit 1
fi
docker info >/dev/null 2>&1 || die "docker is installed but its engine does not answer (is the daemon running, may this user use it?)"

export KUBECONFIG="$ROOT/.tmp/kind-$CLUSTER.kubeconfig"
mkdir -p "$ROOT/.tmp"
cleanup() {
  local rc=$?
  if [[ "${KEEP_CLUSTER:-}" == 1 ]]; then
    say "keeping cluster $CLUSTER (KUBECONFIG=$KUBECONFIG); delete it with: kind delete cluster --name $CLUSTER"
  else
    say "deleting kind cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
  exit $rc
}
trap cleanup EXIT

say "creating kind cluster $CLUSTER"
kind get clusters 2>/dev/null | grep -qx "$CLUSTER" && kind delete cluster --name "$CLUSTER"
kind create cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG" --wait 180s

say "building $OPERATOR_IMAGE and $SERVICE_IMAGE"
docker build -f Dockerfile.operator --build-arg VERSION="$VERSION" -t "$OPERATOR_IMAGE" .
docker build -f Dockerfile.service --build-arg VERSION="$VERSION" -t "$SERVICE_IMAGE" .
say "loading the images into the cluster"
kind load docker-image --name "$CLUSTER" "$OPERATOR_IMAGE" "$SERVICE_IMAGE"

say "installing the chart into $NAMESPACE"
"$HELM" upgrade --install graminsta-operator charts/graminsta-operator --namespace "$NAMESPACE" --create-namespace \
  --set image.pullPolicy=Never --wait --timeout 180s
"$KUBECTL" -n "$NAMESPACE" rollout status deployment/graminsta-operator --timeout=120s

say "applying the sample app (examples/graminsta.yaml) in $APP_NAMESPACE"
"$KUBECTL" create namespace "$APP_NAMESPACE" --dry-run=client -o yaml | "$KUBECTL" apply -f -
"$KUBECTL" label namespace "$APP_NAMESPACE" pod-security.kubernetes.io/enforce=restricted --overwrite
"$KUBECTL" apply -n "$APP_NAMESPACE" -f examples/graminsta.yaml
if ! "$KUBECTL" wait -n "$APP_NAMESPACE" graminstaapp/graminsta --for=condition=Ready --timeout=600s; then
  "$KUBECTL" describe -n "$APP_NAMESPACE" graminstaapp/graminsta >&2 || true
  "$KUBECTL" get -n "$APP_NAMESPACE" pods,jobs,statefulsets,deployments >&2 || true
  "$KUBECTL" logs -n "$NAMESPACE" deployment/graminsta-operator --tail=100 >&2 || true
  die "the sample app did not become Ready"
fi
"$KUBECTL" get graminstaapp -n "$APP_NAMESPACE"

shopt -s globstar nullglob
# shellcheck disable=SC2206 # the glob is meant to expand here
suite=($E2E_TESTS)
if ((${#suite[@]} == 0)); then
  say "no end-to-end tests match $E2E_TESTS: the install and the sample's Ready were the test"
else
  say "end-to-end suite (${#suite[@]} files) against the kind cluster"
  GRAMINSTA_E2E_OPERATOR=in-cluster npx mocha --timeout 600000 "${suite[@]}"
fi
say "passed"
