import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { ApiException, type CustomObjectsApi, type V1APIResourceList } from '@kubernetes/client-node';
import { servedKinds, servesAll } from '../../../operator/kube/discovery.kube.js';
import { watchedKinds } from '../../../operator/reconcile/children.reconcile.js';

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

  it('watches the monitoring kinds only where they are served', () => {
    expect(watchedKinds(false).map((k) => k.kind)).to.not.include.members(['PodMonitor']);
    expect(watchedKinds(true).map((k) => k.kind)).to.include.members(['PodMonitor', 'PrometheusRule']);
  });
});
