#!/usr/bin/env bash
# Joins a real worker node to the local control plane that hack/cluster-up.sh started: containerd 2
# with Debian's runc, the kubelet and kube-proxy, the CNI bridge, images built here (no registry),
# CoreDNS and metrics-server as pods, and two host-process test fixtures: a local volume provisioner
# and an ingress controller (nginx) on 127.0.0.1. Called by cluster-up.sh with its state in the
# environment (STATE, PKI, API_PORT, BASE_PORT, BIN, KUBECONFIG_PATH); progress on stderr.
# Two phases, so that the first overlaps the control plane's start:
#   node-up.sh prepare   containerd and the images (needs no API server)
#   node-up.sh join      kubelet, kube-proxy, add-ons and fixtures (after the API server is ready)
# Without an argument it runs both.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=node.env.sh
source "$HERE/node.env.sh"
# The fixtures run on the project's Node.js (>= 24).
# shellcheck source=SCRIPTDIR/../lib/node.sh
source "$ROOT/hack/lib/node.sh"
: "${STATE:?}" "${PKI:?}" "${API_PORT:?}" "${BASE_PORT:?}" "${BIN:?}" "${KUBECONFIG_PATH:?}"
phase="${1:-all}"
case "$phase" in prepare|join|all) ;; *) echo "usage: node-up.sh [prepare|join]" >&2; exit 2 ;; esac
INGRESS_PORT="${GRAMINSTA_INGRESS_PORT:-$((BASE_PORT + 8))}"
KUBELET_HEALTHZ_PORT=$((BASE_PORT + 9))
PROXY_METRICS_PORT=$((BASE_PORT + 10))
PROXY_HEALTHZ_PORT=$((BASE_PORT + 11))

say() { printf '[node-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
kc() { kubectl --kubeconfig "$KUBECONFIG_PATH" "$@"; }
# shellcheck source=../lib/procs.sh
source "$ROOT/hack/lib/procs.sh"
WAIT_LOGS="$STATE/logs/containerd.log $STATE/logs/kubelet.log $STATE/logs/kube-proxy.log"

NODE_BIN="$(bash "$HERE/build-node.sh")"
NODE_STATE="$STATE/node"
mkdir -p "$NODE_STATE" "$NODE_RUN" "$KUBELET_ROOT" "$VOLUMES_DIR" "$NODE_RUN/cni/net.d" "$NODE_RUN/certs.d/_default"

ctr() { "$NODE_BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
images_list="$NODE_STATE/images.txt"
if [[ "$phase" != join ]]; then
say "images: building (cached by content) the service, operator, Postgres, Redis and node images"
{ bash "$HERE/build-images.sh"; bash "$HERE/build-node-images.sh"; } > "$images_list"

# ---- containerd -------------------------------------------------------------------------------
pause_ref=$(awk '$1 ~ /\/pause:/ {print $1}' "$images_list")
[[ -n "$pause_ref" ]] || { say "build-images.sh printed no pause image"; exit 1; }
# Every pull goes to a closed local port: nothing reaches a registry off the machine, and a wrong
# image reference fails fast as ErrImagePull/ImagePullBackOff.
cat > "$NODE_RUN/certs.d/_default/hosts.toml" <<'TOML'
server = "http://127.0.0.1:9"
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
TOML
cat > "$NODE_STATE/containerd.toml" <<TOML
version = 3
root = "$NODE_ROOT/containerd"
state = "$NODE_RUN/containerd"
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$pause_ref"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$NODE_RUN/certs.d"
[plugins."io.containerd.cri.v1.runtime"]
  # This machine's root lacks CAP_SYS_RESOURCE: a negative oom_score_adj (the kubelet asks -998 for
  # sandboxes) is refused and every sandbox fails; clamp it to the current value instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$NODE_RUN/cni/net.d"
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
      BinaryName = "$(command -v runc)"
      SystemdCgroup = false
TOML
cat > "$NODE_RUN/cni/net.d/10-graminsta.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "graminsta",
  "plugins": [
    {
      "type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$NODE_RUN/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "${NODE_POD_CIDR%.*}.1"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON

say "starting containerd ($(basename "$NODE_BIN"))"
# containerd finds its shim on its own PATH.
start containerd env PATH="$NODE_BIN:$PATH" "$NODE_BIN/containerd" --config "$NODE_STATE/containerd.toml"
wait_for "containerd" 30 ctr version

# Containers of an earlier run (a crash, or a node-down that could not finish) would be adopted by
# nobody: the kubelet below starts from an empty etcd.
bash "$HERE/clean-containers.sh" "$NODE_BIN/ctr" "$CONTAINERD_SOCK" "left by an earlier run" >&2

say "importing images into containerd (skipped when already there)"
# By manifest digest, not by ref: postgres:15-debian keeps its tag when its content changes.
present=$(ctr images ls | awk 'NR > 1 {print $1, $3}')
while read -r ref archive; do
  [[ -n "$ref" ]] || continue
  digest=$(tar -xOf "$archive" index.json | grep -o '"digest":"sha256:[0-9a-f]*"' | head -1 | cut -d'"' -f4)
  if grep -qxF "$ref $digest" <<<"$present"; then continue; fi
  ctr images import "$archive" >/dev/null
  say "imported $ref"
done < "$images_list"
# Images and archives of earlier builds (every source change is a new service image) would pile up:
# drop the graminsta.local images this start does not use, and archives unused for a day.
for old in $(ctr images ls -q | grep '^graminsta.local/'); do
  grep -qxF "$old" < <(awk '{print $1}' "$images_list") || ctr images rm "$old" >/dev/null 2>&1 || true
done
while read -r archive; do
  grep -qxF "$archive" < <(awk '{print $2}' "$images_list") || rm -f "$archive"
done < <(find "${GRAMINSTA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/graminsta}/images" -maxdepth 1 -name '*.oci.tar' -mmin +1440)

fi
[[ "$phase" == prepare ]] && exit 0

# ---- kubelet ----------------------------------------------------------------------------------
cat > "$NODE_STATE/kubelet.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: graminsta-local
  cluster: {server: "https://$NODE_IP:$API_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: node
  user: {client-certificate: "$PKI/node.crt", client-key: "$PKI/node.key"}
- name: kube-proxy
  user: {client-certificate: "$PKI/kube-proxy.crt", client-key: "$PKI/kube-proxy.key"}
contexts:
- name: node
  context: {cluster: graminsta-local, user: node}
- name: kube-proxy
  context: {cluster: graminsta-local, user: kube-proxy}
current-context: node
KC
sed 's/^current-context: node$/current-context: kube-proxy/' "$NODE_STATE/kubelet.kubeconfig" > "$NODE_STATE/kube-proxy.kubeconfig"
# Pods with dnsPolicy Default get this file: there is no resolver off the machine to give them.
echo "nameserver $CLUSTER_DNS_IP" > "$NODE_STATE/resolv.conf"
cat > "$NODE_STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The host has cgroup v1 only; kubelet 1.35+ refuses it unless told to carry on (deprecated, works).
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$CLUSTER_DNS_IP]
resolvConf: $NODE_STATE/resolv.conf
podCIDR: $NODE_POD_CIDR
registerWithTaints:
- {key: $NODE_TAINT_KEY, value: "true", effect: NoSchedule}
# The eviction manager cannot read this machine's root device stats; keep ephemeral-storage
# accounting and disk-pressure eviction out of the way, and never garbage-collect imported images.
localStorageCapacityIsolation: false
evictionHard: {memory.available: "200Mi"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 110
shutdownGracePeriod: 0s
rotateCertificates: false
YAML
say "starting the kubelet (node $NODE_NAME at $NODE_IP)"
start kubelet "$BIN/kubelet" --config="$NODE_STATE/kubelet.yaml" --kubeconfig="$NODE_STATE/kubelet.kubeconfig" \
  --root-dir="$KUBELET_ROOT" --cert-dir="$NODE_STATE/kubelet-pki" --node-ip="$NODE_IP" \
  --hostname-override="$NODE_NAME" --node-labels="$NODE_TAINT_KEY=true" --v=1

cat > "$NODE_STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $NODE_STATE/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
clusterCIDR: $CLUSTER_POD_CIDR
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
nodePortAddresses: ["$NODE_IP/32"]
conntrack: {maxPerCore: 0}
YAML
say "starting kube-proxy (iptables mode)"
start kube-proxy "$BIN/kube-proxy" --config="$NODE_STATE/kube-proxy.yaml" --v=1

node_ready() { [[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
wait_for "node $NODE_NAME Ready" 90 node_ready

# ---- cluster add-ons: DNS, metrics, storage classes, ingress class ------------------------------
say "installing CoreDNS, metrics-server, storage classes and the ingress class"
coredns_ref=$(awk '$1 ~ /\/coredns:/ {print $1}' "$images_list")
metrics_ref=$(awk '$1 ~ /\/metrics-server:/ {print $1}' "$images_list")
bash "$HERE/addons.sh" "$coredns_ref" "$metrics_ref" | kc apply --server-side --force-conflicts -f - >/dev/null
kc apply --server-side -f "$ROOT/test/fixtures/local-provisioner/storage-classes.yaml" >/dev/null

say "starting the test fixtures: local volume provisioner and ingress controller on 127.0.0.1:$INGRESS_PORT"
mkdir -p "$NODE_STATE/ingress"
start local-provisioner node --import tsx "$ROOT/test/fixtures/local-provisioner/main.ts" \
  --kubeconfig "$KUBECONFIG_PATH" --node "$NODE_NAME" --base-dir "$VOLUMES_DIR"
start ingress-controller node --import tsx "$ROOT/test/fixtures/ingress-controller/main.ts" \
  --kubeconfig "$KUBECONFIG_PATH" --listen "127.0.0.1:$INGRESS_PORT" --state-dir "$NODE_STATE/ingress"
echo "http://127.0.0.1:$INGRESS_PORT" > "$STATE/ingress-url"

ready_deploy() { [[ "$(kc get deploy -n kube-system "$1" -o jsonpath='{.status.readyReplicas}')" == "1" ]]; }
wait_for "CoreDNS Ready" 120 ready_deploy coredns
wait_for "metrics-server Ready" 120 ready_deploy metrics-server
metrics_api() { kc get --raw "/apis/metrics.k8s.io/v1beta1/nodes/$NODE_NAME"; }
wait_for "the metrics API" 120 metrics_api
ingress_up() { curl -s -o /dev/null "http://127.0.0.1:$INGRESS_PORT/"; }
wait_for "the ingress controller" 60 ingress_up
say "real node $NODE_NAME ready; ingress on http://127.0.0.1:$INGRESS_PORT"
