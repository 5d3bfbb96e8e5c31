#!/usr/bin/env bash
# The main job: the operator reconciling the sample GraminstaApp on a Kubernetes control plane.
# Without KUBECONFIG it starts the local control plane; it installs the CRD, runs the operator, applies
# examples/graminsta.yaml, waits for Ready and shows what was created. Then the operator keeps running
# in the foreground until Ctrl-C (or, with --once, the job ends there and stops what it started).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=SCRIPTDIR/lib/node.sh
source hack/lib/node.sh
say() { printf '\n[run %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
once=false
sample="examples/graminsta.yaml"
while (($#)); do
  case "$1" in
    --once) once=true ;;
    -f) shift; sample="$1" ;;
    *) echo "usage: hack/run.sh [--once] [-f app.yaml]" >&2; exit 2 ;;
  esac
  shift
done

bash hack/setup.sh
BIN="$(bash hack/build-control-plane.sh)"
export PATH="$BIN:$PATH"

started=false
if [[ -z "${KUBECONFIG:-}" ]]; then
  say "starting the local control plane"
  KUBECONFIG="$(bash hack/cluster-up.sh)"
  export KUBECONFIG
  started=true
fi
operator_pid=""
cleanup() {
  [[ -n "$operator_pid" ]] && kill "$operator_pid" 2>/dev/null && wait "$operator_pid" 2>/dev/null
  if $started; then say "stopping the local control plane"; bash hack/cluster-down.sh; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "installing the GraminstaApp CRD"
kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/graminstaapps.graminsta.io >/dev/null

ns="${GRAMINSTA_NAMESPACE:-photos}"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace "$ns" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null

# With the local control plane's real node, the sample runs for real there: its namespace selects
# the node (admission annotations, as the tests do), the operator uses the images built on this
# machine, and the sample's volumes use the node's local volume class (hack/node/fit-app.ts).
state="${GRAMINSTA_CLUSTER_DIR:-$ROOT/.cluster}"
image_env=()
app_file="$sample"
if $started && [[ -s "$state/node/images.txt" ]]; then
  kubectl annotate namespace "$ns" --overwrite >/dev/null \
    scheduler.alpha.kubernetes.io/node-selector=graminsta.io/real-node=true \
    'scheduler.alpha.kubernetes.io/defaultTolerations=[{"key":"graminsta.io/real-node","operator":"Exists","effect":"NoSchedule"}]'
  ref() { awk -v p="$1" 'index($1, p) {print $1; exit}' "$state/node/images.txt"; }
  image_env=(GRAMINSTA_SERVICE_IMAGE="$(ref /graminsta-service:)" GRAMINSTA_POSTGRES_IMAGE="$(ref /postgres:)" GRAMINSTA_REDIS_IMAGE="$(ref /redis:)")
  app_file="$state/sample.json"
  npx tsx hack/node/fit-app.ts "$sample" > "$app_file"
  say "the sample runs on the real node (images: ${image_env[*]})"
fi

log="${GRAMINSTA_OPERATOR_LOG:-$ROOT/.cluster/operator.log}"
mkdir -p "$(dirname "$log")"
say "starting the operator (JSON logs in $log; metrics on http://127.0.0.1:${GRAMINSTA_HTTP_PORT:-18080}/metrics)"
env "${image_env[@]}" GRAMINSTA_HTTP_PORT="${GRAMINSTA_HTTP_PORT:-18080}" GRAMINSTA_HTTP_HOST=127.0.0.1 POD_NAMESPACE=default \
  node --max-semi-space-size=2 --memory-saver-mode --import tsx operator/main.ts >"$log" 2>&1 &
operator_pid=$!

say "applying $sample"
kubectl apply -n "$ns" --server-side -f "$app_file"
name=$(kubectl get -n "$ns" -f "$app_file" -o jsonpath='{.metadata.name}')
say "waiting for graminstaapp/$name to become Ready"
t0=$(date +%s)
if ! kubectl wait -n "$ns" --for=condition=Ready --timeout=180s "graminstaapp/$name"; then
  kubectl get -n "$ns" graminstaapp "$name" -o yaml | sed -n '/^status:/,$p'
  tail -n 30 "$log"
  exit 1
fi
say "Ready after $(( $(date +%s) - t0 ))s"
kubectl get -n "$ns" graminstaapp "$name"
echo
kubectl get -n "$ns" deployments,statefulsets,services,ingresses,hpa,pdb,jobs -l app.kubernetes.io/instance="$name"
if [[ "$app_file" != "$sample" ]]; then
  ingress="$(cat "$state/ingress-url")"
  echo
  kubectl get pods -n "$ns" -o wide
  say "the app answers through the ingress controller on $ingress:"
  # The ingress fixture reloads nginx on the new endpoints a moment after the app is Ready.
  for _ in $(seq 1 30); do
    curl -fsS -H 'Host: api.graminsta.localtest.me' "$ingress/readyz" 2>/dev/null && { echo; break; }
    sleep 1
  done
  cat >&2 <<MSG
  curl -H 'Host: api.graminsta.localtest.me' $ingress/openapi.json   # the API contract
  curl -H 'Host: graminsta.localtest.me' $ingress/                          # the web client
MSG
fi
if $once; then exit 0; fi
cache_class=""; [[ "$app_file" != "$sample" ]] && cache_class=graminsta-local
cat >&2 <<MSG

The operator keeps running (Ctrl-C stops it and the local control plane). In another shell:
  export KUBECONFIG=$KUBECONFIG PATH=$BIN:\$PATH
  kubectl get graminstaapp -n $ns -w
  kubectl patch graminstaapp $name -n $ns --type merge -p '{"spec":{"users":100000,"cache":{"storage":{"storageClassName":"$cache_class"}}}}'   # grow to the data-layer stage
  kubectl patch graminstaapp $name -n $ns --type merge -p '{"spec":{"users":100,"api":null,"cdn":null,"ingress":null}}'  # shrink to split-clients
  kubectl scale graminstaapp $name -n $ns --replicas=3                                   # then pin the API at 3 pods
MSG
wait "$operator_pid"
