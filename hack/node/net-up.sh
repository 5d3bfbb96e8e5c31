#!/usr/bin/env bash
# Host networking for the real node, before the API server starts (it binds to the node address):
# the node address on lo, a blackhole for the whole 198.18.0.0/15 range so nothing unmatched leaves
# the machine, a local route for the Service range (host processes can then dial ClusterIPs through
# kube-proxy's rules), forwarding for pod traffic, and a filter that drops anything pods send off
# that range. Idempotent. Undone by hack/node/net-down.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=node.env.sh
source "$HERE/node.env.sh"

# `replace` adds or keeps: no check-then-add (a `show | grep -q` under pipefail fails when grep's
# early exit kills `ip` with SIGPIPE, and the add then meets the address already there).
ip addr replace "$NODE_IP/32" dev lo
ip route replace blackhole "$ADDRESS_RANGE"
ip route replace local "$SERVICE_CIDR" dev lo table local

sysctl -qw net.ipv4.ip_forward=1
# Bridged pod-to-pod traffic must pass iptables so kube-proxy's Service rules apply to it.
[[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] && sysctl -qw net.bridge.bridge-nf-call-iptables=1

# Pods may talk to each other and to Service addresses; anything else they send to be forwarded
# (the internet, private networks) is dropped here, before any other rule sees it.
if ! iptables -nL GRAMINSTA-NODE >/dev/null 2>&1; then
  iptables -N GRAMINSTA-NODE
  iptables -A GRAMINSTA-NODE -s "$ADDRESS_RANGE" -d "$ADDRESS_RANGE" -j ACCEPT
  iptables -A GRAMINSTA-NODE -s "$ADDRESS_RANGE" -j DROP
  iptables -A GRAMINSTA-NODE -d "$ADDRESS_RANGE" -j DROP
fi
iptables -C FORWARD -j GRAMINSTA-NODE 2>/dev/null || iptables -I FORWARD 1 -j GRAMINSTA-NODE
