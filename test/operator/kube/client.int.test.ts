import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { applyObject, createKubeClients, deleteObject, isNotFound, type KubeClients } from '../../../operator/kube/client.kube.js';
import { createMetrics, type Metrics } from '../../../operator/kube/metrics.kube.js';
import { createTestNamespace, deleteTestNamespace, getCluster } from '../../support/cluster.js';

use(chaiAsPromised);

async function requests(metrics: Metrics, method: string, code: string): Promise<number> {
  const data = await metrics.restClientRequestsTotal.get();
  return data.values.filter((v) => v.labels.method === method && v.labels.code === code).reduce((sum, v) => sum + v.value, 0);
}

describe('kube clients against the real API server', function () {
  this.timeout(300_000);
  let clients: KubeClients;
  let metrics: Metrics;
  let namespace: string;

  before(async () => {
    const cluster = await getCluster();
    metrics = createMetrics();
    clients = createKubeClients(cluster.kc, { metrics });
    namespace = await createTestNamespace('kube-client');
  });
  after(async () => {
    if (namespace) await deleteTestNamespace(namespace);
  });

  const configMap = (data: Record<string, string>): V1ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace, labels: { app: 'graminsta' } },
    data,
  });

  it('server-side applies: identical content twice keeps the resourceVersion; a change bumps it', async () => {
    const patchesBefore = await requests(metrics, 'PATCH', '200');
    const first = await applyObject(clients, configMap({ mode: 'api' }), 'graminsta-operator');
    const second = await applyObject(clients, configMap({ mode: 'api' }), 'graminsta-operator');
    expect(first.metadata?.resourceVersion).to.be.a('string').and.not.equal('');
    expect(second.metadata?.resourceVersion).to.equal(first.metadata?.resourceVersion);
    expect(second.metadata?.managedFields?.map((f) => f.manager)).to.include('graminsta-operator');
    const third = await applyObject(clients, configMap({ mode: 'web' }), 'graminsta-operator');
    expect(third.metadata?.resourceVersion).to.not.equal(first.metadata?.resourceVersion);
    expect(third.data).to.deep.equal({ mode: 'web' });
    // The first apply may answer 201 (created); the other two are 200.
    const patches = (await requests(metrics, 'PATCH', '200')) + (await requests(metrics, 'PATCH', '201')) - patchesBefore;
    expect(patches).to.equal(3);
  });

  it('counts requests by method and status code, including 404s, and times them', async () => {
    const notFoundBefore = await requests(metrics, 'GET', '404');
    const getsBefore = await requests(metrics, 'GET', '200');
    await clients.core.readNamespacedConfigMap({ name: 'settings', namespace });
    const missing = clients.core.readNamespacedConfigMap({ name: 'no-such-thing', namespace });
    await expect(missing).to.be.rejected;
    expect(isNotFound(await missing.catch((e: unknown) => e))).to.equal(true);
    expect((await requests(metrics, 'GET', '200')) - getsBefore).to.equal(1);
    expect((await requests(metrics, 'GET', '404')) - notFoundBefore).to.equal(1);
    const text = await metrics.registry.metrics();
    expect(text).to.match(/rest_client_requests_total\{code="404",method="GET",host="[^"]+:\d+"\} \d+/);
    expect(text).to.match(/rest_client_request_duration_seconds_count\{verb="GET",host="[^"]+:\d+"\} \d+/);
  });

  it('deleteObject deletes, then reports an object already gone as false', async () => {
    await applyObject(clients, configMap({ mode: 'api' }), 'graminsta-operator');
    expect(await deleteObject(clients, configMap({}))).to.equal(true);
    expect(await deleteObject(clients, configMap({}))).to.equal(false);
    const gone = clients.core.readNamespacedConfigMap({ name: 'settings', namespace });
    await expect(gone).to.be.rejected;
  });

  it('wraps apply errors with what was being applied, keeping the status code reachable', async () => {
    const bad = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_A_Valid_Name', namespace }, data: {} };
    const applying = applyObject(clients, bad, 'graminsta-operator');
    await expect(applying).to.be.rejectedWith(/while applying ConfigMap .*\/Not_A_Valid_Name/);
  });
});
