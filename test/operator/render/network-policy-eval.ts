// A small evaluator of NetworkPolicy ingress semantics (networking.k8s.io/v1), for checking rendered policies
// against rendered pods without a network plugin: pod selection, peers (podSelector, namespaceSelector, both,
// ipBlock), ports (numbers, names, endPort, protocol) and the rule that a pod no policy selects accepts everything.
import type { V1LabelSelector, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import type { NetworkPolicy } from '../../../operator/render/network-policy.render.js';

/** A pod as the evaluator sees it: where it runs, its labels, its namespace's labels, its named container ports, its IP. */
export interface PodView {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  namespaceLabels: Record<string, string>;
  /** Named ports of its containers (not init containers: plugins resolve names from spec.containers). */
  namedPorts: Record<string, number>;
  ip?: string;
}

/** Where a connection comes from: a pod, or an address outside the cluster (or a node, or a host-network pod). */
export type Source = { pod: PodView } | { ip: string };

/** Whether labels satisfy a label selector; an empty selector matches everything. */
export function selectorMatches(sel: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel?.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  }
  return true;
}

function ipv4(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${text}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

/** Whether an IPv4 address lies in a CIDR. */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base!) / size);
}

/** Whether a peer of a policy in `policyNamespace` admits the source. */
export function peerMatches(peer: V1NetworkPolicyPeer, policyNamespace: string, source: Source): boolean {
  if (peer.ipBlock) {
    const ip = 'ip' in source ? source.ip : source.pod.ip;
    if (!ip) return false;
    return inCidr(ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(ip, c));
  }
  if (!('pod' in source)) return false;
  const { pod } = source;
  const namespaceOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, pod.namespaceLabels)
    : pod.namespace === policyNamespace;
  const podOk = peer.podSelector ? selectorMatches(peer.podSelector, pod.labels) : true;
  return namespaceOk && podOk;
}

/** Whether a rule's ports admit a connection to `port`/`protocol` of the destination pod; no ports: every port. */
export function portsMatch(ports: V1NetworkPolicyPort[] | undefined, dest: PodView, port: number, protocol = 'TCP'): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'number') return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
    return dest.namedPorts[p.port] === port;
  });
}

/** Whether the policies admit a TCP connection from source to port of dest (egress is not evaluated). */
export function ingressAllowed(policies: readonly NetworkPolicy[], source: Source, dest: PodView, port: number): boolean {
  const selecting = policies.filter(
    (p) =>
      (p.metadata?.namespace ?? 'default') === dest.namespace &&
      (p.spec.policyTypes ?? ['Ingress']).includes('Ingress') &&
      selectorMatches(p.spec.podSelector, dest.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) =>
    (p.spec.ingress ?? []).some(
      (rule) =>
        portsMatch(rule.ports, dest, port) &&
        (!rule.from || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, dest.namespace, source))),
    ),
  );
}
