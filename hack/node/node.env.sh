# shellcheck shell=bash
# shellcheck disable=SC2034  # sourced: the variables are read by the scripts that source it
# The real node's fixed addresses and directories, sourced by cluster-up, node-up and node-down.
# Every address is inside 198.18.0.0/15 (RFC 2544 benchmarking range), never a private range, and a
# blackhole route for the whole range keeps anything unmatched from leaving the machine.
NODE_NAME="${GRAMINSTA_NODE_NAME:-graminsta-node}"
NODE_IP="198.19.255.1"                 # on lo: the kubelet refuses a loopback address
NODE_POD_CIDR="198.18.0.0/24"          # the real node's pods (CNI bridge gm0, gateway .1)
KWOK_POD_CIDR="198.18.128.1/17"        # fake pod addresses kwok hands out; never routed
CLUSTER_POD_CIDR="198.18.0.0/16"
SERVICE_CIDR="198.19.0.0/20"
API_SERVICE_IP="198.19.0.1"
CLUSTER_DNS_IP="198.19.0.10"
ADDRESS_RANGE="198.18.0.0/15"
NODE_BRIDGE="gm0"
NODE_TAINT_KEY="graminsta.io/real-node"
# Persistent across runs (imported images, volume directories); runtime state is under /run.
NODE_ROOT="${GRAMINSTA_NODE_ROOT:-/var/lib/graminsta-node}"
NODE_RUN="/run/graminsta-node"
CONTAINERD_SOCK="$NODE_RUN/containerd.sock"
KUBELET_ROOT="$NODE_ROOT/kubelet"
VOLUMES_DIR="$NODE_ROOT/volumes"
