import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import type { RenderedObject } from '../../../operator/render/app.render.js';
import type { NetworkPolicy } from '../../../operator/render/network-policy.render.js';
import { app, plan, render } from './helpers.js';
import { ingressAllowed, inCidr, peerMatches, portsMatch, selectorMatches, type PodView, type Source } from './network-policy-eval.js';

const NS = 'photos';
const NS_LABELS = { 'kubernetes.io/metadata.name': NS };
const INGRESS_NS = 'ingress-nginx';
const INGRESS_FROM = [
  {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': INGRESS_NS } },
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
  },
];

const examples = readdirSync('examples')
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => ({ file, spec: (parse(readFileSync(`examples/${file}`, 'utf8')) as { spec: GraminstaAppSpec }).spec }));

/** A rendered pod: its view for the evaluator, its component and every port it listens on (init sidecars too). */
interface RenderedPod {
  view: PodView;
  component: string;
  listens: number[];
}

function podsOf(objects: RenderedObject[]): RenderedPod[] {
  const out: RenderedPod[] = [];
  for (const o of objects) {
    if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet' && o.kind !== 'Job') continue;
    const template = (o as { spec: { template: V1PodTemplateSpec } }).spec.template;
    const labels = template.metadata!.labels!;
    const ports = (cs: V1Container[] = []) => cs.flatMap((c) => c.ports ?? []);
    const namedPorts = Object.fromEntries(ports(template.spec!.containers).filter((p) => p.name).map((p) => [p.name!, p.containerPort]));
    const listens = [...ports(template.spec!.containers), ...ports(template.spec!.initContainers)].map((p) => p.containerPort);
    out.push({ view: { name: o.metadata!.name!, namespace: NS, labels, namespaceLabels: NS_LABELS, namedPorts }, component: labels['app.kubernetes.io/component']!, listens });
  }
  return out;
}

function policiesOf(objects: RenderedObject[]): NetworkPolicy[] {
  return objects.filter((o): o is NetworkPolicy => o.kind === 'NetworkPolicy');
}

const foreignPod = (name: string, namespace: string, labels: Record<string, string>): Source => ({
  pod: { name, namespace, labels, namespaceLabels: { 'kubernetes.io/metadata.name': namespace }, namedPorts: {} },
});

/** Sources that are not the app's own pods, by name. */
const OUTSIDERS: Record<string, Source> = {
  'ingress-controller': foreignPod('ingress', INGRESS_NS, { 'app.kubernetes.io/name': 'ingress-nginx' }),
  'pod of another app in the namespace': foreignPod('other', NS, { app: 'other' }),
  'API pod of another GraminstaApp in the namespace': foreignPod('other-api', NS, {
    'app.kubernetes.io/name': 'graminsta',
    'app.kubernetes.io/instance': 'other',
    'app.kubernetes.io/component': 'api',
  }),
  'pod in another namespace': foreignPod('elsewhere', 'elsewhere', { 'app.kubernetes.io/name': 'ingress-nginx' }),
  'address outside the cluster': { ip: '203.0.113.7' },
};

/** The intended matrix: whether `source` (a component of the app, or an outsider's name) may reach `port` of a `dest` pod. */
function intended(source: string, dest: string, port: number, ingressFromSet: boolean): boolean {
  const userFacingOk = (also: string[] = []) => !ingressFromSet || source === 'ingress-controller' || also.includes(source);
  if (port === 5432 && dest === 'database') return ['api', 'migrate', 'database-replica'].includes(source);
  if (port === 5432 && dest === 'database-replica') return source === 'api';
  // Either mode's nodes reach the other's: the copy of a change between standalone and cluster MIGRATEs between them.
  if (port === 6379 && (dest === 'cache' || dest === 'cache-standalone')) return ['api', 'cache', 'cache-standalone', 'cache-init'].includes(source);
  if (port === 16379 && dest === 'cache') return source === 'cache';
  if (port === 8080 && dest === 'origin') return ['api', 'migrate'].includes(source);
  if (port === 8080 && (dest === 'api' || dest === 'web')) return userFacingOk();
  // The single-machine pod serves the API too; sync-images Jobs read its photos.
  if (port === 8080 && dest === 'database') return userFacingOk(['migrate']);
  return false;
}

function checkMatrix(spec: GraminstaAppSpec, withIngressFrom: boolean): number {
  const objects = render(app(spec));
  // ingressFrom applies once the app has an ingress tier (an Ingress or HTTPRoutes); before, users reach the Services directly.
  const ingressFromSet = withIngressFrom && plan(app(spec)).ingress !== null;
  const policies = policiesOf(objects);
  const pods = podsOf(objects);
  const sources: [string, Source][] = [...pods.map((p): [string, Source] => [p.component, { pod: p.view }]), ...Object.entries(OUTSIDERS)];
  let checked = 0;
  // Jobs listen on nothing and get no policy.
  for (const dest of pods.filter((p) => p.listens.length > 0)) {
    for (const port of [...dest.listens, 9999]) {
      for (const [name, source] of sources) {
        const want = intended(name, dest.component, port, ingressFromSet);
        const got = ingressAllowed(policies, source, dest.view, port);
        expect(got, `${name} -> ${dest.view.name} (${dest.component}) port ${port}`).to.equal(want);
        checked++;
      }
    }
  }
  return checked;
}

describe('NetworkPolicies (render)', () => {
  for (const { file, spec } of examples) {
    it(`${file}: every pod and port admits exactly the intended sources (ingressFrom unset)`, () => {
      expect(checkMatrix(spec, false)).to.be.greaterThan(10);
    });
    it(`${file}: with ingressFrom, the API and web take HTTP only from the ingress controller`, () => {
      expect(checkMatrix({ ...spec, networkPolicy: { ingressFrom: INGRESS_FROM } }, true)).to.be.greaterThan(10);
    });
    it(`${file}: every pod that listens is selected by a policy`, () => {
      const objects = render(app(spec));
      const policies = policiesOf(objects);
      for (const pod of podsOf(objects).filter((p) => p.listens.length > 0)) {
        expect(policies.some((p) => selectorMatches(p.spec.podSelector, pod.view.labels)), pod.view.name).to.equal(true);
      }
    });
  }

  it('data-layer: the named cases of the matrix', () => {
    const objects = render(app({ users: 100000 }));
    const policies = policiesOf(objects);
    const pods = podsOf(objects);
    const pod = (component: string) => pods.find((p) => p.component === component)!;
    const from = (component: string): Source => ({ pod: pod(component).view });
    expect(ingressAllowed(policies, from('web'), pod('database').view, 5432), 'web -> postgres').to.equal(false);
    expect(ingressAllowed(policies, from('api'), pod('database').view, 5432), 'api -> postgres').to.equal(true);
    expect(ingressAllowed(policies, from('database-replica'), pod('database').view, 5432), 'replica -> primary').to.equal(true);
    expect(ingressAllowed(policies, from('api'), pod('database-replica').view, 5432), 'api -> replica').to.equal(true);
    expect(ingressAllowed(policies, from('web'), pod('database-replica').view, 5432), 'web -> replica').to.equal(false);
    expect(ingressAllowed(policies, from('api'), pod('cache').view, 6379), 'api -> redis').to.equal(true);
    expect(ingressAllowed(policies, from('web'), pod('cache').view, 6379), 'web -> redis').to.equal(false);
    expect(ingressAllowed(policies, from('cache'), pod('cache').view, 16379), 'redis -> redis bus').to.equal(true);
    expect(ingressAllowed(policies, from('api'), pod('cache').view, 16379), 'api -> redis bus').to.equal(false);
    expect(ingressAllowed(policies, from('migrate'), pod('database').view, 5432), 'migrate -> postgres').to.equal(true);
    expect(ingressAllowed(policies, from('migrate'), pod('cache').view, 6379), 'migrate -> redis').to.equal(false);
  });

  it('single-machine: the API pods of the next stage reach the single pod\'s Postgres sidecar (make before break)', () => {
    const single = render(app({ users: 1 }));
    const next = render(app({ users: 10 }));
    const singlePod = podsOf(single).find((p) => p.component === 'database')!;
    const newApi = podsOf(next).find((p) => p.component === 'api')!;
    expect(singlePod.listens).to.include.members([5432, 8080]);
    // The policies of the new stage apply while the single pod still runs.
    expect(ingressAllowed(policiesOf(next), { pod: newApi.view }, singlePod.view, 5432)).to.equal(true);
    expect(ingressAllowed(policiesOf(next), OUTSIDERS['address outside the cluster']!, singlePod.view, 8080)).to.equal(true);
  });

  it('a change of cache mode: the old mode\'s Redis nodes keep their allow-list (and a cluster its bus) until pruned', () => {
    const cluster = render(app({ users: 100000, cache: { shards: 3 } }));
    const standalone = render(app({ users: 100000, cache: { shards: 1 } }));
    const node = (objects: RenderedObject[], component: string) => podsOf(objects).find((p) => p.component === component)!.view;
    const api = { pod: node(cluster, 'api') };
    const web = { pod: node(cluster, 'web') };
    // Standalone -> cluster: the new mode's policy applies while the standalone still serves the API.
    const oldStandalone = node(standalone, 'cache-standalone');
    expect(ingressAllowed(policiesOf(cluster), api, oldStandalone, 6379), 'api -> old standalone').to.equal(true);
    expect(ingressAllowed(policiesOf(cluster), web, oldStandalone, 6379), 'web -> old standalone').to.equal(false);
    expect(ingressAllowed(policiesOf(cluster), { pod: oldStandalone }, node(cluster, 'cache'), 6379), 'old standalone -> new cluster').to.equal(true);
    // Cluster -> standalone: the cluster being left keeps its bus, and outsiders stay out.
    const oldCluster = node(cluster, 'cache');
    expect(ingressAllowed(policiesOf(standalone), { pod: oldCluster }, oldCluster, 16379), 'old cluster bus').to.equal(true);
    expect(ingressAllowed(policiesOf(standalone), api, oldCluster, 6379), 'api -> old cluster').to.equal(true);
    expect(ingressAllowed(policiesOf(standalone), web, oldCluster, 16379), 'web -> old cluster bus').to.equal(false);
    expect(ingressAllowed(policiesOf(standalone), OUTSIDERS['pod of another app in the namespace']!, oldCluster, 6379), 'outsider -> old cluster').to.equal(false);
  });

  it('networkPolicy.enabled: false renders none', () => {
    for (const { spec } of examples) expect(policiesOf(render(app({ ...spec, networkPolicy: { enabled: false } })))).to.deep.equal([]);
  });

  it('ingressFrom applies once the app has an Ingress', () => {
    const api = (spec: GraminstaAppSpec) => policiesOf(render(app(spec))).find((p) => p.metadata!.name === 'graminsta-api')!;
    expect(api({ users: 100, networkPolicy: { ingressFrom: INGRESS_FROM } }).spec.ingress[0]!.from).to.equal(undefined);
    expect(api({ users: 100, ingress: { className: 'nginx' }, networkPolicy: { ingressFrom: INGRESS_FROM } }).spec.ingress[0]!.from).to.deep.equal(INGRESS_FROM);
  });

  it('ingressFrom peers are copied into the user-facing rules only', () => {
    const policies = policiesOf(render(app({ users: 1000, networkPolicy: { ingressFrom: INGRESS_FROM } })));
    const byName = new Map(policies.map((p) => [p.metadata!.name!, p]));
    expect(byName.get('graminsta-api')!.spec.ingress).to.deep.equal([{ ports: [{ protocol: 'TCP', port: 'http' }], from: INGRESS_FROM }]);
    expect(JSON.stringify(byName.get('graminsta-origin'))).not.to.include(INGRESS_NS);
  });
});

describe('the NetworkPolicy evaluator of the tests', () => {
  const dest: PodView = { name: 'd', namespace: 'a', labels: { role: 'db', tier: 'x' }, namespaceLabels: {}, namedPorts: { pg: 5432 } };
  const pod = (namespace: string, labels: Record<string, string>, namespaceLabels: Record<string, string> = {}): Source => ({
    pod: { name: 'p', namespace, labels, namespaceLabels, namedPorts: {} },
  });
  const policy = (ingress: NetworkPolicy['spec']['ingress'], podSelector = { matchLabels: { role: 'db' } }): NetworkPolicy => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'p', namespace: 'a' },
    spec: { podSelector, policyTypes: ['Ingress'], ingress },
  });

  it('admits everything to a pod no policy selects, and nothing to a selected pod without rules', () => {
    expect(ingressAllowed([policy([], { matchLabels: { role: 'web' } })], pod('a', {}), dest, 1)).to.equal(true);
    expect(ingressAllowed([policy([])], pod('a', {}), dest, 1)).to.equal(false);
  });

  it('matches selectors with matchLabels and every matchExpressions operator', () => {
    expect(selectorMatches({}, { a: '1' })).to.equal(true);
    expect(selectorMatches({ matchLabels: { a: '1' } }, { a: '2' })).to.equal(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { a: '2' })).to.equal(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1'] }] }, {})).to.equal(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, {})).to.equal(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, { a: '1' })).to.equal(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { a: '' })).to.equal(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { a: '' })).to.equal(false);
  });

  it('reads a peer with only podSelector as the policy namespace, with both as AND, with only namespaceSelector as all its pods', () => {
    const podOnly = { podSelector: { matchLabels: { app: 'x' } } };
    expect(peerMatches(podOnly, 'a', pod('a', { app: 'x' }))).to.equal(true);
    expect(peerMatches(podOnly, 'a', pod('b', { app: 'x' }))).to.equal(false);
    const both = { namespaceSelector: { matchLabels: { team: 'edge' } }, podSelector: { matchLabels: { app: 'x' } } };
    expect(peerMatches(both, 'a', pod('b', { app: 'x' }, { team: 'edge' }))).to.equal(true);
    expect(peerMatches(both, 'a', pod('b', { app: 'y' }, { team: 'edge' }))).to.equal(false);
    expect(peerMatches({ namespaceSelector: {} }, 'a', pod('z', {}))).to.equal(true);
    expect(peerMatches({ namespaceSelector: {} }, 'a', { ip: '10.0.0.1' })).to.equal(false);
  });

  it('matches ipBlock with except, and ports by number, range, name and protocol', () => {
    expect(inCidr('10.1.2.3', '10.1.0.0/16')).to.equal(true);
    expect(inCidr('10.2.0.1', '10.1.0.0/16')).to.equal(false);
    const block = { ipBlock: { cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] } };
    expect(peerMatches(block, 'a', { ip: '10.1.1.1' })).to.equal(true);
    expect(peerMatches(block, 'a', { ip: '10.9.1.1' })).to.equal(false);
    expect(portsMatch([{ port: 'pg' }], dest, 5432)).to.equal(true);
    expect(portsMatch([{ port: 'http' }], dest, 8080)).to.equal(false);
    expect(portsMatch([{ port: 5000, endPort: 6000 }], dest, 5432)).to.equal(true);
    expect(portsMatch([{ port: 5432, protocol: 'UDP' }], dest, 5432)).to.equal(false);
    expect(portsMatch(undefined, dest, 1)).to.equal(true);
  });

  it('admits a connection when one rule matches both port and peer', () => {
    const p = policy([{ ports: [{ port: 5432 }], from: [{ podSelector: { matchLabels: { app: 'api' } } }] }]);
    expect(ingressAllowed([p], pod('a', { app: 'api' }), dest, 5432)).to.equal(true);
    expect(ingressAllowed([p], pod('a', { app: 'web' }), dest, 5432)).to.equal(false);
    expect(ingressAllowed([p], pod('a', { app: 'api' }), dest, 5433)).to.equal(false);
    expect(ingressAllowed([policy([{ ports: [{ port: 5432 }] }])], { ip: '1.2.3.4' }, dest, 5432)).to.equal(true);
  });
});
