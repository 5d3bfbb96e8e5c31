import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { ApiException, type CustomObjectsApi, type V1APIResourceList } from '@kubernetes/client-node';
import { servedKinds, servesAll } from '../../../operator/kube/discovery.kube.js';
import { discoverOptionalApis } from '../../../operator/controller.js';
import type { KubeClients } from '../../../operator/kube/client.kube.js';
import { servedApisOf, watchedKinds } from '../../../operator/reconcile/children.reconcile.js';

use(chaiAsPromised);

const fake = (answer: () => Promise<V1APIResourceList>) => ({ customObjects: { getAPIResources: answer } as unknown as CustomObjectsApi });
const list = (...kinds: string[]): V1APIResourceList => ({
  groupVersion: 'monitoring.coreos.com/v1',
  resources: kinds.flatMap((kind) => [
    { kind, name: `${kind.toLowerCase()}s`, namespaced: true, singularName: '', verbs: ['get'] },
    { kind, name: `${kind.toLowerCase()}s/status`, namespaced: true, singularName: '', verbs: ['get'] },
  ]),
});

describe('discovery.kube', () => {
  it('lists the kinds a group version serves (not their subresources)', async () => {
    expect([...(await servedKinds(fake(async () => list('PodMonitor', 'Probe')), 'monitoring.coreos.com', 'v1'))]).to.deep.equal(['PodMonitor', 'Probe']);
  });

  it('reads a 404 (the CRDs are not installed) as nothing served', async () => {
    const clients = fake(() => Promise.reject(new ApiException(404, 'not found', {}, {})));
    expect((await servedKinds(clients, 'monitoring.coreos.com', 'v1')).size).to.equal(0);
    expect(await servesAll(clients, 'monitoring.coreos.com', 'v1', ['PodMonitor'])).to.equal(false);
  });

  it('fails on other errors, saying what it was discovering (the operator must not guess)', async () => {
    await expect(servedKinds(fake(() => Promise.reject(new ApiException(403, 'forbidden', {}, {}))), 'monitoring.coreos.com', 'v1')).to.be.rejectedWith(/while discovering the kinds of monitoring.coreos.com\/v1/);
  });

  it('needs every kind: a cluster with PodMonitor but no PrometheusRule is not the monitoring API', async () => {
    expect(await servesAll(fake(async () => list('PodMonitor')), 'monitoring.coreos.com', 'v1', ['PodMonitor', 'PrometheusRule'])).to.equal(false);
    expect(await servesAll(fake(async () => list('PodMonitor', 'PrometheusRule', 'ServiceMonitor')), 'monitoring.coreos.com', 'v1', ['PodMonitor', 'PrometheusRule'])).to.equal(true);
  });

  it('watches the kinds of an optional API only where it is served', () => {
    expect(watchedKinds([]).map((k) => k.kind)).to.not.include.members(['PodMonitor']);
    expect(watchedKinds([]).map((k) => k.kind)).to.not.include.members(['HTTPRoute']);
    expect(watchedKinds(['monitoring']).map((k) => k.kind)).to.include.members(['PodMonitor', 'PrometheusRule']);
    expect(watchedKinds(['monitoring']).map((k) => k.kind)).to.not.include('HTTPRoute');
    expect(watchedKinds(['gateway']).map((k) => k.kind)).to.include('HTTPRoute');
    expect([...servedApisOf(watchedKinds(['gateway']))]).to.deep.equal(['gateway']);
    expect([...servedApisOf(watchedKinds(['monitoring', 'gateway']))]).to.deep.equal(['monitoring', 'gateway']);
  });

  it('finds the optional APIs the cluster serves, each by its own group version', async () => {
    const asked: string[] = [];
    const clients = {
      customObjects: {
        getAPIResources: async ({ group, version }: { group: string; version: string }) => {
          asked.push(`${group}/${version}`);
          if (group === 'gateway.networking.k8s.io') return { groupVersion: `${group}/${version}`, resources: [{ kind: 'HTTPRoute', name: 'httproutes', namespaced: true, singularName: '', verbs: ['get'] }] };
          throw new ApiException(404, 'not found', {}, {});
        },
      },
    } as unknown as KubeClients;
    expect([...(await discoverOptionalApis(clients))]).to.deep.equal(['gateway']);
    expect(asked.sort()).to.deep.equal(['gateway.networking.k8s.io/v1', 'monitoring.coreos.com/v1']);
  });
});
