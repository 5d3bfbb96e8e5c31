// A topology as a Mermaid flowchart (GitHub, GitLab and most wikis draw it).
import type { EdgeKind, NodeKind, Topology, TopologyNode } from './topology.diagram.js';

const SHAPES: Record<NodeKind, [string, string]> = {
  clients: ['((', '))'],
  cdn: ['{{', '}}'],
  ingress: ['{{', '}}'],
  service: ['([', '])'],
  deployment: ['[', ']'],
  statefulset: ['[(', ')]'],
  job: ['[/', '/]'],
  external: ['[[', ']]'],
};

const ARROWS: Record<EdgeKind, string> = { routes: '-->', connects: '-->', selects: '-.->' };

/** The fill and stroke of each kind of node, shared with the SVG drawing. */
export const NODE_STYLE: Record<NodeKind, { fill: string; stroke: string }> = {
  clients: { fill: '#f5f5f5', stroke: '#616161' },
  cdn: { fill: '#fff3e0', stroke: '#ef6c00' },
  ingress: { fill: '#fff3e0', stroke: '#ef6c00' },
  service: { fill: '#e3f2fd', stroke: '#1565c0' },
  deployment: { fill: '#e8f5e9', stroke: '#2e7d32' },
  statefulset: { fill: '#ede7f6', stroke: '#4527a0' },
  job: { fill: '#fffde7', stroke: '#9e9d24' },
  external: { fill: '#fafafa', stroke: '#424242' },
};

function text(s: string): string {
  return s.replace(/#/g, '#35;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;').replace(/\|/g, '#124;');
}

function node(n: TopologyNode): string {
  const [open, close] = SHAPES[n.kind];
  return `  ${n.id}${open}"<b>${text(n.name)}</b><br/>${n.details.map(text).join('<br/>')}"${close}`;
}

/** The Mermaid flowchart of a topology, top to bottom, with a title naming the app and its stage. */
export function toMermaid(t: Topology): string {
  const lines = [
    '---',
    `title: ${t.namespace}/${t.app} — stage ${t.stage}`,
    '---',
    'flowchart TB',
    ...t.nodes.map(node),
    ...t.edges.map((e) => `  ${e.from} ${ARROWS[e.kind]}${e.label ? `|${text(e.label)}|` : ''} ${e.to}`),
    ...Object.entries(NODE_STYLE)
      .filter(([kind]) => t.nodes.some((n) => n.kind === kind))
      .map(([kind, s]) => `  classDef ${kind} fill:${s.fill},stroke:${s.stroke}`),
    ...[...new Set(t.nodes.map((n) => n.kind))].map((kind) => `  class ${t.nodes.filter((n) => n.kind === kind).map((n) => n.id).join(',')} ${kind}`),
  ];
  return `${lines.join('\n')}\n`;
}
