// A topology drawn as SVG by a simple layered layout: each node one row below the furthest node that points at it,
// rows ordered to keep arrows short, arrows as curves from the bottom of a box to the top of the next.
import { NODE_STYLE } from './mermaid.diagram.js';
import type { Topology, TopologyEdge, TopologyNode } from './topology.diagram.js';

const BOX_WIDTH = 240;
const LINE_HEIGHT = 16;
const BOX_PADDING = 10;
const GAP_X = 40;
const GAP_Y = 70;
const MARGIN = 30;
const TITLE_HEIGHT = 40;
/** Rough width of a character of the 12px sans-serif text, to shorten lines that would leave their box. */
const CHAR_WIDTH = 6.6;
/** Room a waypoint of a passing arrow takes in a row. */
const WAYPOINT_WIDTH = 16;

/** Where layoutOf puts a node: its row, and the box's top-left corner and size. */
export interface PlacedNode {
  node: TopologyNode;
  layer: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The layout of a topology: every node placed, and the drawing's size. */
export interface Layout {
  nodes: PlacedNode[];
  width: number;
  height: number;
}

/**
 * The row of every node: sources (nothing points at them) that point somewhere sit one row above the highest
 * node they point at; everything else one row below the lowest node pointing at it (longest path; an arrow that
 * would close a cycle is ignored).
 */
export function layersOf(t: Topology): Map<string, number> {
  const incoming = new Map<string, TopologyEdge[]>(t.nodes.map((n) => [n.id, []]));
  for (const e of t.edges) incoming.get(e.to)?.push(e);
  const layer = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    visiting.add(id);
    let d = 0;
    for (const e of incoming.get(id) ?? []) if (!visiting.has(e.from)) d = Math.max(d, depth(e.from) + 1);
    visiting.delete(id);
    layer.set(id, d);
    return d;
  };
  for (const n of t.nodes) depth(n.id);
  // A source other than the clients (a Job, say) goes just above what it uses instead of beside the clients.
  for (const n of t.nodes) {
    if (n.kind === 'clients' || (incoming.get(n.id) ?? []).length > 0) continue;
    const targets = t.edges.filter((e) => e.from === n.id).map((e) => layer.get(e.to)!);
    if (targets.length > 0) layer.set(n.id, Math.max(0, Math.min(...targets) - 1));
  }
  return layer;
}

function heightOf(n: TopologyNode): number {
  return BOX_PADDING * 2 + LINE_HEIGHT * (1 + n.details.length);
}

/** A point an arrow passes through in a row between its ends, so that it never crosses a box. */
interface Waypoint {
  edge: number;
  layer: number;
  x: number;
  y: number;
}

/** Places the nodes row by row; within a row, by the mean position of what points at them (one barycentre pass). */
export function layoutOf(t: Topology): Layout & { waypoints: Waypoint[][] } {
  const layerOf = layersOf(t);
  // Rows of ids; an arrow spanning rows gets a waypoint (`~<edge>~<row>`) in every row it crosses.
  const rows: string[][] = [];
  const add = (layer: number, id: string) => (rows[layer] ??= []).push(id);
  for (const n of t.nodes) add(layerOf.get(n.id)!, n.id);
  const chains = t.edges.map((e, i) => {
    const from = layerOf.get(e.from)!;
    const to = layerOf.get(e.to)!;
    const chain = [e.from];
    for (let l = from + 1; l < to; l++) {
      chain.push(`~${i}~${l}`);
      add(l, `~${i}~${l}`);
    }
    chain.push(e.to);
    return chain;
  });
  const parents = new Map<string, string[]>();
  for (const chain of chains) for (let i = 1; i < chain.length; i++) (parents.get(chain[i]!) ?? parents.set(chain[i]!, []).get(chain[i]!)!).push(chain[i - 1]!);
  const byId = new Map(t.nodes.map((n) => [n.id, n]));
  const widthOf = (id: string) => (byId.has(id) ? BOX_WIDTH : WAYPOINT_WIDTH);
  const centre = new Map<string, number>();
  const dense = rows.filter((r) => r !== undefined);
  const rowWidth = (row: string[]) => row.reduce((w, id) => w + widthOf(id), 0) + (row.length - 1) * GAP_X;
  const width = MARGIN * 2 + Math.max(...dense.map(rowWidth));
  const placed: PlacedNode[] = [];
  const points = new Map<string, Waypoint>();
  let y = MARGIN + TITLE_HEIGHT;
  dense.forEach((row, layer) => {
    const keyOf = (id: string) => {
      const from = (parents.get(id) ?? []).filter((p) => centre.has(p)).map((p) => centre.get(p)!);
      return from.length > 0 ? from.reduce((a, b) => a + b, 0) / from.length : Number.MAX_SAFE_INTEGER;
    };
    const keyed = row.map((id, i) => ({ id, key: keyOf(id), i }));
    keyed.sort((a, b) => a.key - b.key || a.i - b.i);
    const boxes = keyed.filter((k) => byId.has(k.id)).map((k) => byId.get(k.id)!);
    const rowHeight = Math.max(...boxes.map(heightOf), LINE_HEIGHT);
    let x = (width - rowWidth(row)) / 2;
    for (const { id } of keyed) {
      const node = byId.get(id);
      if (node) placed.push({ node, layer, x, y, width: BOX_WIDTH, height: heightOf(node) });
      else {
        const [, edge, l] = id.split('~');
        points.set(id, { edge: Number(edge), layer: Number(l), x: x + WAYPOINT_WIDTH / 2, y });
      }
      centre.set(id, x + widthOf(id) / 2);
      x += widthOf(id) + GAP_X;
    }
    // Waypoints span the row's height: the arrow runs straight down through it.
    for (const { id } of keyed) if (!byId.has(id)) points.get(id)!.y = y + rowHeight / 2;
    y += rowHeight + GAP_Y;
  });
  const waypoints = chains.map((chain) => chain.slice(1, -1).map((id) => points.get(id)!));
  return { nodes: placed, width, height: y - GAP_Y + MARGIN, waypoints };
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fit(s: string, width: number): string {
  const max = Math.floor(width / CHAR_WIDTH);
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function box(p: PlacedNode): string {
  const { fill, stroke } = NODE_STYLE[p.node.kind];
  const rx = p.node.kind === 'service' || p.node.kind === 'clients' ? 18 : p.node.kind === 'job' ? 0 : 6;
  const dash = p.node.kind === 'external' || p.node.kind === 'clients' ? ' stroke-dasharray="5 3"' : '';
  const cx = p.x + p.width / 2;
  const lines = [
    `<text x="${cx}" y="${p.y + BOX_PADDING + 12}" font-weight="bold">${xml(fit(p.node.name, p.width - 12))}</text>`,
    ...p.node.details.map((d, i) => `<text x="${cx}" y="${p.y + BOX_PADDING + 12 + LINE_HEIGHT * (i + 1)}">${xml(fit(d, p.width - 12))}</text>`),
  ];
  return [
    `<g class="node ${p.node.kind}" id="${p.node.id}">`,
    `<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${p.height}" rx="${rx}" fill="${fill}" stroke="${stroke}" stroke-width="1.5"${dash}/>`,
    ...lines,
    '</g>',
  ].join('');
}

function arrow(e: TopologyEdge, at: Map<string, PlacedNode>, via: Waypoint[]): string {
  const a = at.get(e.from)!;
  const b = at.get(e.to)!;
  const x1 = a.x + a.width / 2;
  const x2 = b.x + b.width / 2;
  let d: string;
  let label: [number, number];
  if (b.layer > a.layer) {
    // Down through the waypoints: a vertical S-curve between consecutive points.
    const pts: [number, number][] = [[x1, a.y + a.height], ...via.map((p): [number, number] => [p.x, p.y]), [x2, b.y - 2]];
    d = `M${pts[0]![0]},${pts[0]![1]}`;
    for (let i = 1; i < pts.length; i++) {
      const [px, py] = pts[i - 1]!;
      const [qx, qy] = pts[i]!;
      const my = (py + qy) / 2;
      d += ` C${px},${my} ${qx},${my} ${qx},${qy}`;
    }
    // The label sits just above the arrow's head, so arrows that leave one box together keep theirs apart.
    label = [x2, b.y - 12];
  } else {
    // Same row or upwards: around the side.
    const side = x2 >= x1 ? 1 : -1;
    const y1 = a.y + a.height / 2;
    const y2 = b.y + b.height / 2;
    const sx = a.x + (side > 0 ? a.width : 0);
    const ex = b.x + (side > 0 ? 0 : b.width);
    d = `M${sx},${y1} C${sx + side * 30},${y1} ${ex - side * 30},${y2} ${ex - side * 2},${y2}`;
    label = [(sx + ex) / 2, (y1 + y2) / 2 - 4];
  }
  const dash = e.kind === 'selects' ? ' stroke-dasharray="4 3"' : '';
  const text = e.label
    ? `<text class="edge-label" x="${label[0].toFixed(1)}" y="${label[1].toFixed(1)}">${xml(fit(e.label, BOX_WIDTH + GAP_X))}</text>`
    : '';
  return `<path class="edge ${e.kind}" d="${d}" fill="none" stroke="#555" stroke-width="1.2"${dash} marker-end="url(#arrow)"/>${text}`;
}

/** The SVG drawing of a topology: one self-contained file (no scripts, no external fonts). */
export function toSvg(t: Topology): string {
  const layout = layoutOf(t);
  const at = new Map(layout.nodes.map((p) => [p.node.id, p]));
  const title = `${t.namespace}/${t.app} — stage ${t.stage}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${xml(title)}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    '<style>text{text-anchor:middle;fill:#212121}.edge-label{font-size:10px;fill:#424242;paint-order:stroke;stroke:#fff;stroke-width:3px}</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${layout.width / 2}" y="${MARGIN + 8}" font-size="16" font-weight="bold">${xml(title)}</text>`,
    ...t.edges.map((e, i) => arrow(e, at, layout.waypoints[i]!)),
    ...layout.nodes.map(box),
    '</svg>',
    '',
  ].join('\n');
}
