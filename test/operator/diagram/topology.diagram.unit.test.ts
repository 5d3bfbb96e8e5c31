import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { DEFAULT_IMAGES } from '../../../operator/api/images.api.js';
import { runCli } from '../../../operator/cli.js';
import { toMermaid } from '../../../operator/diagram/mermaid.diagram.js';
import { layersOf, layoutOf, toSvg } from '../../../operator/diagram/svg.diagram.js';
import { appTopology, type Topology } from '../../../operator/diagram/topology.diagram.js';
import { parseApps } from '../../../operator/render/manifests.render.js';
import { app } from '../render/helpers.js';

function example(stage: string): Topology {
  const file = `examples/${stage}.yaml`;
  return appTopology(parseApps(readFileSync(file, 'utf8'), file, 'photos')[0]!, DEFAULT_IMAGES);
}

/** The edges as "from kind to" lines, sorted, for whole-set comparisons. */
function edges(t: Topology): string[] {
  return t.edges.map((e) => `${e.from} ${e.kind} ${e.to}`).sort();
}

function details(t: Topology, id: string): string[] {
  const node = t.nodes.find((n) => n.id === id);
  expect(node, `node ${id}`).to.not.equal(undefined);
  return node!.details;
}

describe('topology of an app', () => {
  it('single-machine: clients reach the one pod, which runs the API and Postgres as a sidecar', () => {
    const t = example('stage-1-single-machine');
    expect(t).to.include({ app: 'graminsta', namespace: 'photos', stage: 'single-machine' });
    expect(t.nodes.map((n) => n.id)).to.deep.equal(['clients', 'service_graminsta_api', 'statefulset_graminsta_db']);
    expect(edges(t)).to.deep.equal(['clients routes service_graminsta_api', 'service_graminsta_api selects statefulset_graminsta_db']);
    expect(details(t, 'statefulset_graminsta_db')).to.deep.equal(['StatefulSet', '1 pod', 'api + postgres (sidecar)']);
  });

  it('split-database: the API and the migrate Job use the -rw Service, the API the origin', () => {
    const t = example('stage-2-split-database');
    expect(t.stage).to.equal('split-database');
    const migrate = t.nodes.find((n) => n.kind === 'job')!;
    expect(migrate.name).to.match(/^graminsta-migrate-[0-9a-f]{10}$/);
    expect(edges(t)).to.deep.equal(
      [
        'clients routes service_graminsta_api',
        'deployment_graminsta_api connects service_graminsta_db_rw',
        'deployment_graminsta_api connects service_graminsta_origin',
        `${migrate.id} connects service_graminsta_db_rw`,
        'service_graminsta_api selects deployment_graminsta_api',
        'service_graminsta_db_rw selects statefulset_graminsta_db',
        'service_graminsta_origin selects statefulset_graminsta_origin',
      ].sort(),
    );
    expect(details(t, 'deployment_graminsta_api')).to.deep.equal(['Deployment', '1 pod']);
    // Headless Services only govern StatefulSets here: nobody else connects to them.
    expect(t.nodes.map((n) => n.id)).to.not.include('service_graminsta_db_headless');
  });

  it('split-clients: the web tier is reached by clients, and its public API URL is no connection', () => {
    const t = example('stage-3-split-clients');
    expect(edges(t)).to.include.members(['clients routes service_graminsta_web', 'clients routes service_graminsta_api', 'service_graminsta_web selects deployment_graminsta_web']);
    expect(edges(t).filter((e) => e.startsWith('deployment_graminsta_web'))).to.deep.equal([]);
    expect(details(t, 'deployment_graminsta_api')).to.deep.equal(['Deployment', '2 pods']);
  });

  it('load-balanced: clients go through the Ingress only, to API and web; the API shows its HPA range', () => {
    const t = example('stage-4-load-balanced');
    expect(edges(t).filter((e) => e.startsWith('clients'))).to.deep.equal(['clients routes ingress_graminsta']);
    const routes = t.edges.filter((e) => e.from === 'ingress_graminsta').map((e) => [e.to, e.label]);
    expect(routes).to.deep.equal([
      ['service_graminsta_api', 'api.graminsta.example.com/'],
      ['service_graminsta_web', 'graminsta.example.com/'],
    ]);
    expect(details(t, 'deployment_graminsta_api')).to.deep.equal(['Deployment', '2–10 pods (HPA at 70% CPU)']);
    expect(details(t, 'ingress_graminsta')).to.deep.equal(['Ingress (nginx)', 'TLS']);
  });

  it('cdn: images go from S3 through the CDN; the API writes to S3 and no origin runs', () => {
    const t = example('stage-5-cdn');
    expect(edges(t)).to.include.members(['clients routes cdn', 'cdn routes s3', 'deployment_graminsta_api connects s3']);
    expect(t.nodes.map((n) => n.id)).to.not.include('statefulset_graminsta_origin');
    expect(details(t, 'cdn')).to.deep.equal(['cdn.graminsta.example.com']);
  });

  it('data-layer: API to primary, replicas and Redis; replicas stream from the primary; the cluster Job forms Redis', () => {
    const t = example('stage-6-data-layer');
    const job = (prefix: string) => t.nodes.find((n) => n.kind === 'job' && n.name.startsWith(prefix))!.id;
    expect(edges(t).filter((e) => e.includes(' connects '))).to.deep.equal(
      [
        'deployment_graminsta_api connects s3',
        'deployment_graminsta_api connects service_graminsta_db_ro',
        'deployment_graminsta_api connects service_graminsta_db_rw',
        'deployment_graminsta_api connects service_graminsta_redis_headless',
        'statefulset_graminsta_db_replica connects service_graminsta_db_rw',
        `${job('graminsta-migrate-')} connects service_graminsta_db_rw`,
        `${job('graminsta-redis-init-')} connects service_graminsta_redis_headless`,
      ].sort(),
    );
    expect(edges(t)).to.include.members(['service_graminsta_db_ro selects statefulset_graminsta_db_replica', 'service_graminsta_redis_headless selects statefulset_graminsta_redis']);
    // A Redis node announcing its own headless name is not an arrow to itself.
    expect(edges(t)).to.not.include('statefulset_graminsta_redis connects service_graminsta_redis_headless');
    expect(details(t, 'statefulset_graminsta_redis')).to.deep.equal(['StatefulSet', '6 pods: 3 shards × (1 + 1)', 'redis']);
    expect(details(t, 'statefulset_graminsta_db_replica')).to.deep.equal(['StatefulSet', '2 pods', 'postgres']);
    expect(details(t, 'deployment_graminsta_api')).to.deep.equal(['Deployment', '3–50 pods (HPA at 70% CPU)']);
  });

  it('follows the spec, not the stage name: more replicas and a standalone cache show as such', () => {
    const t = appTopology(app({ users: 100000, database: { readReplicas: 3 }, cache: { enabled: true, shards: 1 } }), DEFAULT_IMAGES);
    expect(details(t, 'statefulset_graminsta_db_replica')).to.deep.equal(['StatefulSet', '3 pods', 'postgres']);
    expect(details(t, 'statefulset_graminsta_redis_standalone')).to.deep.equal(['StatefulSet', '1 pod', 'redis']);
    expect(edges(t)).to.include('deployment_graminsta_api connects service_graminsta_redis_standalone');
    expect(t.nodes.some((n) => n.name.startsWith('graminsta-redis-init-'))).to.equal(false);
  });

  it('an external database: API and migrate Job connect to it through its Secret; no in-cluster Postgres', () => {
    const t = appTopology(app({ users: 10, database: { external: { secretName: 'rds' } } }), DEFAULT_IMAGES);
    const migrate = t.nodes.find((n) => n.kind === 'job')!.id;
    expect(edges(t)).to.include.members(['deployment_graminsta_api connects external_database', `${migrate} connects external_database`]);
    expect(details(t, 'external_database')).to.deep.equal(['Secret rds']);
    expect(t.nodes.some((n) => n.id.startsWith('statefulset_graminsta_db'))).to.equal(false);
  });

  it('every edge joins two nodes of the topology', () => {
    for (const stage of ['stage-1-single-machine', 'stage-4-load-balanced', 'stage-6-data-layer']) {
      const t = example(stage);
      const ids = new Set(t.nodes.map((n) => n.id));
      expect(ids.size).to.equal(t.nodes.length);
      for (const e of t.edges) expect(ids.has(e.from) && ids.has(e.to), `${e.from} -> ${e.to}`).to.equal(true);
    }
  });
});

describe('drawing a topology', () => {
  it('layers: every arrow points down, clients on top, a Job just above what it uses', () => {
    const t = example('stage-6-data-layer');
    const layer = layersOf(t);
    expect(layer.get('clients')).to.equal(0);
    for (const e of t.edges) expect(layer.get(e.to)!, `${e.from} -> ${e.to}`).to.be.greaterThan(layer.get(e.from)!);
    const migrate = t.nodes.find((n) => n.name.startsWith('graminsta-migrate-'))!.id;
    expect(layer.get(migrate)).to.equal(layer.get('service_graminsta_db_rw')! - 1);
  });

  it('lays boxes out without overlap, inside the drawing', () => {
    const layout = layoutOf(example('stage-6-data-layer'));
    for (const a of layout.nodes) {
      expect(a.x).to.be.at.least(0);
      expect(a.x + a.width).to.be.at.most(layout.width);
      expect(a.y + a.height).to.be.at.most(layout.height);
      for (const b of layout.nodes) {
        if (a === b) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${a.node.id} overlaps ${b.node.id}`).to.equal(true);
      }
    }
  });

  it('SVG: one box per node, one arrow per edge, text escaped', () => {
    const t = example('stage-6-data-layer');
    const svg = toSvg(t);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    expect(svg.match(/<g class="node /g)).to.have.length(t.nodes.length);
    expect(svg.match(/<path class="edge /g)).to.have.length(t.edges.length);
    const odd = toSvg({ ...t, app: 'a<b>&"c"' });
    expect(odd).to.include('photos/a&lt;b&gt;&amp;&quot;c&quot;').and.not.include('a<b>');
  });

  it('Mermaid: a titled flowchart with every node and edge, selects dotted', () => {
    const t = example('stage-4-load-balanced');
    const text = toMermaid(t);
    expect(text.split('\n').slice(0, 4)).to.deep.equal(['---', 'title: photos/graminsta — stage load-balanced', '---', 'flowchart TB']);
    for (const n of t.nodes) expect(text).to.match(new RegExp(`^  ${n.id}[\\[({]`, 'm'));
    expect(text).to.include('  ingress_graminsta -->|api.graminsta.example.com/| service_graminsta_api\n');
    expect(text).to.include('  service_graminsta_api -.-> deployment_graminsta_api\n');
    expect(toMermaid({ ...t, nodes: [{ id: 'x', kind: 'job', name: 'a"b|c', details: [] }], edges: [] })).to.include('a#quot;b#124;c');
  });
});

describe('graminsta diagram', () => {
  it('prints Mermaid by default and SVG with --format svg, from the same render as graminsta render', async () => {
    const mermaid = await runCli(['diagram', '-f', 'examples/stage-6-data-layer.yaml', '-n', 'photos'], undefined, {});
    expect(mermaid).to.deep.include({ code: 0, stderr: '' });
    expect(mermaid.stdout).to.equal(toMermaid(example('stage-6-data-layer')));
    const svg = await runCli(['diagram', '--format', 'svg', '-f', 'examples/stage-6-data-layer.yaml', '-n', 'photos'], undefined, {});
    expect(svg.stdout).to.equal(toSvg(example('stage-6-data-layer')));
    // The migrate Job's name is the one render prints (its content hash includes the image).
    const render = await runCli(['render', '-f', 'examples/stage-6-data-layer.yaml', '--image', 'registry.local/svc:1'], undefined, {});
    const drawn = await runCli(['diagram', '-f', 'examples/stage-6-data-layer.yaml', '--image', 'registry.local/svc:1'], undefined, {});
    const job = /graminsta-migrate-[0-9a-f]{10}/.exec(render.stdout)![0];
    expect(drawn.stdout).to.include(job);
    expect(mermaid.stdout).to.not.include(job);
  });

  it('reads stdin and picks the named app of several', async () => {
    const two = ['stage-1-single-machine', 'stage-4-load-balanced']
      .map((s) => readFileSync(`examples/${s}.yaml`, 'utf8').replace('name: graminsta', `name: ${s.slice(0, 7)}`))
      .join('\n---\n');
    const out = await runCli(['diagram', '-f', '-', 'stage-4'], async () => two, {});
    expect(out.code).to.equal(0);
    expect(out.stdout).to.include('title: default/stage-4 — stage load-balanced');
    const unnamed = await runCli(['diagram', '-f', '-'], async () => two, {});
    expect(unnamed).to.deep.include({ code: 1, stdout: '' });
    expect(unnamed.stderr).to.equal('graminsta: <stdin>: holds 2 apps (stage-1, stage-4); name the one to draw\n');
  });

  it('rejects a bad format, a missing file flag, --format on render and an unrealisable spec, naming the problem', async () => {
    const bad = await runCli(['diagram', '-f', 'examples/stage-1-single-machine.yaml', '--format', 'png'], undefined, {});
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^graminsta: --format: must be one of mermaid, svg, got "png"/);
    expect((await runCli(['diagram'], undefined, {})).stderr).to.match(/^graminsta: diagram needs -f <file>/);
    expect((await runCli(['render', '-f', 'x', '--format', 'svg'], undefined, {})).stderr).to.match(/^graminsta: --format: only for diagram/);
    const spec = 'apiVersion: graminsta.io/v1alpha1\nkind: GraminstaApp\nmetadata: {name: a}\nspec: {users: 1, api: {replicas: 2}}\n';
    const unreal = await runCli(['diagram', '-f', '-'], async () => spec, {});
    expect(unreal.code).to.equal(1);
    expect(unreal.stderr).to.match(/^graminsta: <stdin>: a: spec\.api\.replicas: must be 1/);
  });
});
