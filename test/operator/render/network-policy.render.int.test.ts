import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { PatchStrategy, type V1NetworkPolicy } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import { applyObject, createKubeClients, toClientModel, type KubeClients } from '../../../operator/kube/client.kube.js';
import { firstDifference } from '../../../operator/reconcile/compare.reconcile.js';
import type { NetworkPolicy } from '../../../operator/render/network-policy.render.js';
import { createTestNamespace, deleteTestNamespace, getCluster, type TestCluster } from '../../support/cluster.js';
import { app, render } from './helpers.js';

const INGRESS_FROM = [
  { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } } },
  { ipBlock: { cidr: '198.18.0.0/15', except: ['198.18.5.0/24'] } },
];

const variants = readdirSync('examples')
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((file) => {
    const spec = (parse(readFileSync(`examples/${file}`, 'utf8')) as { spec: GraminstaAppSpec }).spec;
    return [
      { name: file, spec },
      { name: `${file} with ingressFrom`, spec: { ...spec, networkPolicy: { ingressFrom: INGRESS_FROM } } },
    ];
  });

describe('rendered NetworkPolicies against the real API server', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let clients: KubeClients;
  let namespace: string;
  const policiesIn = (spec: GraminstaAppSpec): NetworkPolicy[] => {
    const a = app(spec);
    return render({ ...a, metadata: { ...a.metadata, namespace } }).filter((o): o is NetworkPolicy => o.kind === 'NetworkPolicy');
  };

  before(async () => {
    cluster = await getCluster();
    clients = createKubeClients(cluster.kc);
    namespace = await createTestNamespace('netpol');
  });
  after(async () => {
    if (namespace) await deleteTestNamespace(namespace);
  });

  for (const { name, spec } of variants) {
    it(`${name}: every policy passes a server-side dry run, as written and through the operator's client unchanged`, async () => {
      const policies = policiesIn(spec);
      expect(policies.length).to.be.greaterThan(0);
      const kubectl = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=netpol-test', '-o', 'json', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: policies }),
      });
      expect(kubectl.code, kubectl.stderr).to.equal(0);
      for (const policy of policies) {
        // The operator's request: client-node's serializer would drop a wire-form `from` (its model calls it `_from`).
        const stored = await clients.objects.patch<V1NetworkPolicy>(toClientModel(policy), undefined, 'All', 'graminsta-operator', true, PatchStrategy.ServerSideApply);
        expect(firstDifference(policy.spec, stored.spec), `${policy.metadata!.name} as the API server stores it`).to.equal(null);
        const froms = (stored.spec!.ingress ?? []).map((r) => r._from ?? null);
        expect(froms, policy.metadata!.name).to.deep.equal(policy.spec.ingress.map((r) => r.from ?? null));
      }
    });
  }

  it('an applied policy reads back (listed or fetched) as what render wants, so an unchanged app writes nothing', async () => {
    const policy = policiesIn({ users: 1000, networkPolicy: { ingressFrom: INGRESS_FROM } }).find((p) => p.metadata!.name === 'graminsta-api')!;
    await applyObject(clients, policy, 'graminsta-operator');
    const listed = await clients.objects.list<V1NetworkPolicy>('networking.k8s.io/v1', 'NetworkPolicy', namespace);
    const live = listed.items.find((p) => p.metadata?.name === 'graminsta-api')!;
    // Items of a list carry no apiVersion and kind.
    expect(firstDifference({ metadata: policy.metadata, spec: policy.spec }, live)).to.equal(null);
    expect(live.spec!.ingress![0]!._from).to.have.length(INGRESS_FROM.length);
    // A watch event carries the wire form.
    const raw = await cluster.kubectl(['-n', namespace, 'get', 'networkpolicy', 'graminsta-api', '-o', 'json']);
    expect(firstDifference(policy, JSON.parse(raw.stdout))).to.equal(null);
  });
});
