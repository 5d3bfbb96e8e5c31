#!/usr/bin/env bash
# Starts a real local Kubernetes control plane: etcd, kube-apiserver (RBAC, Pod Security admission),
# kube-controller-manager, kube-scheduler, kwok with fake nodes whose pods become Ready, and (as root
# on Linux, unless GRAMINSTA_REAL_NODE=0) one real node where containers run (hack/node/node-up.sh).
# Prints the kubeconfig path on stdout; progress goes to stderr. Stop it with hack/cluster-down.sh.
# GRAMINSTA_REAL_NODE: auto (default: a real node when this machine can run one), 1 (required), 0 (none).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${GRAMINSTA_CLUSTER_DIR:-$ROOT/.cluster}"
BASE_PORT="${GRAMINSTA_CLUSTER_PORT_BASE:-16440}"
NODES="${GRAMINSTA_CLUSTER_NODES:-2}"
API_PORT=$((BASE_PORT + 3))      # 16443
ETCD_PORT=$((BASE_PORT + 1))     # 16441
ETCD_PEER_PORT=$((BASE_PORT + 2))
KCM_PORT=$((BASE_PORT + 4))
SCHED_PORT=$((BASE_PORT + 5))
KWOK_PORT=$((BASE_PORT + 6))
# shellcheck source=node/node.env.sh
source "$ROOT/hack/node/node.env.sh"
POD_CIDR="$CLUSTER_POD_CIDR"

say() { printf '[cluster-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
t0=$(date +%s.%N)

# A real node needs root, Linux namespaces and the Debian packages hack/setup.sh installs.
real_node_missing() {
  [[ $(id -u) -eq 0 ]] || { echo "not root"; return; }
  local c
  for c in runc iptables ip nginx conntrack; do command -v "$c" >/dev/null || { echo "$c not installed"; return; }; done
  [[ -x /usr/lib/cni/bridge ]] || { echo "CNI plugins (containernetworking-plugins) not installed"; return; }
}
REAL_NODE="${GRAMINSTA_REAL_NODE:-auto}"
case "$REAL_NODE" in
  0|false|no) REAL_NODE=false ;;
  1|true|yes) why=$(real_node_missing); [[ -z "$why" ]] || { say "GRAMINSTA_REAL_NODE=1 but: $why"; exit 1; }; REAL_NODE=true ;;
  auto) why=$(real_node_missing); if [[ -z "$why" ]]; then REAL_NODE=true; else say "no real node ($why); kwok nodes only"; REAL_NODE=false; fi ;;
  *) say "GRAMINSTA_REAL_NODE must be auto, 1 or 0 (got '$REAL_NODE')"; exit 2 ;;
esac
if $REAL_NODE; then API_HOST="$NODE_IP"; else API_HOST=127.0.0.1; fi

build_args=()
$REAL_NODE && build_args+=(--with-node)
BIN="$("$ROOT/hack/build-control-plane.sh" "${build_args[@]}")"
export PATH="$BIN:$PATH"
[[ -s "$BIN/kwok-stages/stages.yaml" ]] || "$ROOT/hack/kwok-stages.sh" "$BIN"

# A previous run that crashed may have left processes or a half-written state behind.
"$ROOT/hack/cluster-down.sh" --quiet || true
mkdir -p "$STATE"/{pki,etcd,logs,pids}
PKI="$STATE/pki"

say "generating certificates and keys"
gen_pki() {
  openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -nodes -key "$PKI/ca.key" -subj "/CN=graminsta-local-ca" -days 3650 -out "$PKI/ca.crt" 2>/dev/null
  cat > "$PKI/server.ext" <<EXT
subjectAltName=IP:127.0.0.1,IP:$API_SERVICE_IP,IP:$NODE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
EXT
  openssl genrsa -out "$PKI/apiserver.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/apiserver.key" -subj "/CN=kube-apiserver" -out "$PKI/apiserver.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 3650 \
    -extfile "$PKI/server.ext" -out "$PKI/apiserver.crt" 2>/dev/null
  # Client certificates: CN is the user, O the group.
  local pair
  for pair in "admin:system:masters" "controller-manager:" "scheduler:" "kwok:system:masters" \
    "node:system:nodes" "kube-proxy:" "apiserver-kubelet-client:"; do
    local name="${pair%%:*}" group="${pair#*:}" cn
    case "$name" in
      controller-manager) cn="system:kube-controller-manager" ;;
      scheduler) cn="system:kube-scheduler" ;;
      node) cn="system:node:$NODE_NAME" ;;
      kube-proxy) cn="system:kube-proxy" ;;
      apiserver-kubelet-client) cn="kube-apiserver-kubelet-client" ;;
      *) cn="$name" ;;
    esac
    local subj="/CN=$cn"; [[ -n "$group" ]] && subj="/O=$group/CN=$cn"
    openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
    openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
    openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 3650 \
      -extfile <(echo "extendedKeyUsage=clientAuth") -out "$PKI/$name.crt" 2>/dev/null
  done
  # The real node's kubelet serves with a certificate for its address.
  openssl genrsa -out "$PKI/kubelet-serving.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/kubelet-serving.key" -subj "/CN=$NODE_NAME" -out "$PKI/kubelet-serving.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/kubelet-serving.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 3650 \
    -extfile <(printf 'subjectAltName=IP:%s,DNS:%s\nextendedKeyUsage=serverAuth\n' "$NODE_IP" "$NODE_NAME") -out "$PKI/kubelet-serving.crt" 2>/dev/null
  # The aggregation layer (metrics-server's APIService) authenticates the API server with its own CA.
  openssl genrsa -out "$PKI/front-proxy-ca.key" 2048 2>/dev/null
  openssl req -x509 -new -nodes -key "$PKI/front-proxy-ca.key" -subj "/CN=graminsta-front-proxy-ca" -days 3650 -out "$PKI/front-proxy-ca.crt" 2>/dev/null
  openssl genrsa -out "$PKI/front-proxy-client.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/front-proxy-client.key" -subj "/CN=front-proxy-client" -out "$PKI/front-proxy-client.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/front-proxy-client.csr" -CA "$PKI/front-proxy-ca.crt" -CAkey "$PKI/front-proxy-ca.key" -CAcreateserial -days 3650 \
    -extfile <(echo "extendedKeyUsage=clientAuth") -out "$PKI/front-proxy-client.crt" 2>/dev/null
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
}
# Keys are kept between runs (they are the slow part); a fresh etcd is not.
[[ -f "$PKI/sa.pub" && -f "$PKI/front-proxy-client.crt" ]] || gen_pki
rm -rf "$STATE/etcd"; mkdir -p "$STATE/etcd"

write_kubeconfig() { # name user
  local file="$STATE/$1.kubeconfig" user="$2"
  cat > "$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: graminsta-local
  cluster:
    server: https://$API_HOST:$API_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $user
  user:
    client-certificate: $PKI/$user.crt
    client-key: $PKI/$user.key
contexts:
- name: graminsta-local
  context: {cluster: graminsta-local, user: $user}
current-context: graminsta-local
KC
}
write_kubeconfig admin admin
write_kubeconfig controller-manager controller-manager
write_kubeconfig scheduler scheduler
write_kubeconfig kwok kwok
KUBECONFIG_PATH="$STATE/admin.kubeconfig"

# shellcheck source=lib/procs.sh
source "$ROOT/hack/lib/procs.sh"

if $REAL_NODE; then
  say "real node networking: $NODE_IP on lo, pods $NODE_POD_CIDR, Services $SERVICE_CIDR (nothing leaves $ADDRESS_RANGE)"
  bash "$ROOT/hack/node/net-up.sh"
fi

say "starting etcd on 127.0.0.1:$ETCD_PORT"
start etcd etcd --name graminsta --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "graminsta=http://127.0.0.1:$ETCD_PEER_PORT" --log-level warn --unsafe-no-fsync
wait_for "etcd" 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

say "starting kube-apiserver on https://$API_HOST:$API_PORT"
# The audit log records every write (who, what, when received, when answered), except the control
# plane's and the nodes' Lease renewals (several a second); the leader-fencing test reads it.
# GRAMINSTA_AUDIT_LOG=0 turns it off.
AUDIT=false
if [[ "${GRAMINSTA_AUDIT_LOG:-1}" != 0 ]]; then
  AUDIT=true
  cat > "$STATE/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [get, list, watch]
- level: None
  namespaces: [kube-system, kube-node-lease]
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: Metadata
POLICY
fi
cat > "$STATE/apiserver.args" <<ARGS
--etcd-servers=http://127.0.0.1:$ETCD_PORT
--bind-address=$API_HOST
--advertise-address=$API_HOST
--secure-port=$API_PORT
--tls-cert-file=$PKI/apiserver.crt
--tls-private-key-file=$PKI/apiserver.key
--client-ca-file=$PKI/ca.crt
--service-account-issuer=https://kubernetes.default.svc.cluster.local
--service-account-key-file=$PKI/sa.pub
--service-account-signing-key-file=$PKI/sa.key
--service-cluster-ip-range=$SERVICE_CIDR
--authorization-mode=Node,RBAC
--enable-admission-plugins=NodeRestriction,PodNodeSelector,PodTolerationRestriction
--profiling=false
--event-ttl=30m
ARGS
if $AUDIT; then
  cat >> "$STATE/apiserver.args" <<ARGS
--audit-policy-file=$STATE/audit-policy.yaml
--audit-log-path=$STATE/logs/audit.log
--audit-log-maxsize=200
--audit-log-maxbackup=1
ARGS
fi
if $REAL_NODE; then
  # Pods reach the API server through the kubernetes Service, whose endpoint is this address; the
  # API server reaches the kubelet (logs, exec) at its InternalIP, and metrics-server through the
  # aggregation layer.
  cat >> "$STATE/apiserver.args" <<ARGS
--endpoint-reconciler-type=lease
--kubelet-preferred-address-types=InternalIP
--kubelet-client-certificate=$PKI/apiserver-kubelet-client.crt
--kubelet-client-key=$PKI/apiserver-kubelet-client.key
--requestheader-client-ca-file=$PKI/front-proxy-ca.crt
--requestheader-allowed-names=front-proxy-client
--requestheader-extra-headers-prefix=X-Remote-Extra-
--requestheader-group-headers=X-Remote-Group
--requestheader-username-headers=X-Remote-User
--proxy-client-cert-file=$PKI/front-proxy-client.crt
--proxy-client-key-file=$PKI/front-proxy-client.key
--enable-aggregator-routing=true
ARGS
else
  echo "--endpoint-reconciler-type=none" >> "$STATE/apiserver.args"
fi
mapfile -t api_args < "$STATE/apiserver.args"
start kube-apiserver kube-apiserver "${api_args[@]}"
api_ready() { curl -fsS --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "https://$API_HOST:$API_PORT/readyz"; }
wait_for "kube-apiserver /readyz" 90 api_ready

# containerd and the images need no API server: prepare the node meanwhile.
node_env=(STATE="$STATE" PKI="$PKI" API_PORT="$API_PORT" BASE_PORT="$BASE_PORT" BIN="$BIN" KUBECONFIG_PATH="$KUBECONFIG_PATH")
if $REAL_NODE; then
  env "${node_env[@]}" bash "$ROOT/hack/node/node-up.sh" prepare &
  node_prepare=$!
fi

say "starting kube-controller-manager and kube-scheduler"
start kube-controller-manager kube-controller-manager \
  --kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" --service-cluster-ip-range="$SERVICE_CIDR" \
  --controllers='*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller' \
  --horizontal-pod-autoscaler-sync-period=5s \
  --profiling=false
start kube-scheduler kube-scheduler \
  --kubeconfig="$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --leader-elect=false --profiling=false

say "starting kwok with $NODES fake node(s)"
start kwok kwok --kubeconfig="$STATE/kwok.kubeconfig" \
  --config="$BIN/kwok-stages/stages.yaml" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 \
  --cidr="$KWOK_POD_CIDR" --node-ip=127.0.0.1 \
  --server-address="127.0.0.1:$KWOK_PORT"

kc() { kubectl --kubeconfig "$KUBECONFIG_PATH" "$@"; }
nodes_yaml=""
for i in $(seq 1 "$NODES"); do
  nodes_yaml+="
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: '0'}
  labels: {kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok, topology.kubernetes.io/zone: zone-$(( (i - 1) % 3 + 1 ))}
status:
  allocatable: {cpu: '32', memory: 256Gi, pods: '110'}
  capacity: {cpu: '32', memory: 256Gi, pods: '110'}
"
done
wait_for "RBAC bootstrap" 60 kc get clusterrole system:kube-scheduler
printf '%s\n' "$nodes_yaml" | kc apply -f - >/dev/null
# kwok provisions and binds PersistentVolumes for this default StorageClass.
kc apply -f "$BIN/kwok-stages/storage-class.yaml" >/dev/null

node_ready() { [[ "$(kc get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" -ge "$NODES" ]]; }
wait_for "kwok nodes Ready" 60 node_ready
wait_for "default ServiceAccount" 60 kc get serviceaccount default -n default

if $REAL_NODE; then
  wait "$node_prepare" || { say "preparing the real node failed"; exit 1; }
  env "${node_env[@]}" bash "$ROOT/hack/node/node-up.sh" join
fi

elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
say "control plane ready in ${elapsed}s ($(kc version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1)); KUBECONFIG=$KUBECONFIG_PATH"
echo "$KUBECONFIG_PATH"
