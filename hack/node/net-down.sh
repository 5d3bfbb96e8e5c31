#!/usr/bin/env bash
# Undoes hack/node/net-up.sh and what kube-proxy and the CNI plugins left: the bridge, pod network
# namespaces, KUBE-*/CNI-* rules (iptables and ip6tables), our filter chain, routes and the address.
# Safe to run when nothing is there.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=node.env.sh
source "$HERE/node.env.sh"

ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && ip link del "$NODE_BRIDGE"
for ns in /var/run/netns/cni-*; do [[ -e "$ns" ]] && ip netns del "$(basename "$ns")" 2>/dev/null; done
# Only the rules kube-proxy, the CNI plugins and we wrote; any other rule on the machine stays.
for tool in iptables ip6tables; do
  command -v "$tool-save" >/dev/null || continue
  if grep -q -E 'KUBE-|CNI-|GRAMINSTA-' < <("$tool-save"); then
    "$tool-save" | grep -v -E 'KUBE-|CNI-|GRAMINSTA-' | "$tool-restore"
  fi
done
ip route del local "$SERVICE_CIDR" dev lo table local 2>/dev/null
ip route del blackhole "$ADDRESS_RANGE" 2>/dev/null
ip addr del "$NODE_IP/32" dev lo 2>/dev/null
exit 0
