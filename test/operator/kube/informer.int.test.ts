import { expect } from 'chai';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { applyObject, createKubeClients, deleteObject, type KubeClients } from '../../../operator/kube/client.kube.js';
import { createInformer, type SupervisedInformer } from '../../../operator/kube/informer.kube.js';
import { createLogger } from '../../../operator/kube/logger.kube.js';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor, type TestCluster } from '../../support/cluster.js';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'error', stream: process.stderr });

describe('supervised informer against the real API server', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let clients: KubeClients;
  let namespace: string;
  const informers: Array<SupervisedInformer<V1ConfigMap>> = [];

  before(async () => {
    cluster = await getCluster();
    clients = createKubeClients(cluster.kc);
    namespace = await createTestNamespace('kube-informer');
  });
  after(async () => {
    for (const informer of informers) informer.stop();
    if (namespace) await deleteTestNamespace(namespace);
  });

  const configMap = (name: string, data: Record<string, string>, labels: Record<string, string> = {}): V1ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels },
    data,
  });

  function configMapInformer(labelSelector?: string): SupervisedInformer<V1ConfigMap> {
    const informer = createInformer<V1ConfigMap>(clients, {
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      listFn: () => clients.core.listNamespacedConfigMap({ namespace, labelSelector }),
      labelSelector,
      backoff: { initialMs: 200, maxMs: 2000 },
      logger,
    });
    informers.push(informer);
    return informer;
  }

  it('sees adds, updates and deletes', async () => {
    await applyObject(clients, configMap('before-start', { v: '1' }), 'test');
    const informer = configMapInformer();
    const events: string[] = [];
    informer.on('add', (o) => events.push(`add ${o.metadata!.name}`));
    informer.on('update', (o) => events.push(`update ${o.metadata!.name} ${o.data?.v}`));
    informer.on('delete', (o) => events.push(`delete ${o.metadata!.name}`));
    await informer.start();
    expect(informer.hasSynced()).to.equal(true);
    expect(informer.get('before-start', namespace)?.data).to.deep.equal({ v: '1' });

    await applyObject(clients, configMap('watched', { v: '1' }), 'test');
    await waitFor('add of watched', 10_000, () => events.includes('add watched'));
    await applyObject(clients, configMap('watched', { v: '2' }), 'test');
    await waitFor('update of watched', 10_000, () => events.includes('update watched 2'));
    expect(informer.get('watched', namespace)?.data).to.deep.equal({ v: '2' });
    await deleteObject(clients, configMap('watched', {}));
    await waitFor('delete of watched', 10_000, () => events.includes('delete watched'));
    expect(informer.get('watched', namespace)).to.equal(undefined);
    expect(events).to.include('add before-start');
  });

  it('filters by label selector', async () => {
    const informer = configMapInformer('graminsta.io/tier=api');
    const added: string[] = [];
    informer.on('add', (o) => added.push(o.metadata!.name!));
    await informer.start();
    await applyObject(clients, configMap('other-tier', { v: '1' }, { 'graminsta.io/tier': 'web' }), 'test');
    await applyObject(clients, configMap('api-tier', { v: '1' }, { 'graminsta.io/tier': 'api' }), 'test');
    await waitFor('add of api-tier', 10_000, () => added.includes('api-tier'));
    expect(added).to.deep.equal(['api-tier']);
    expect(informer.list(namespace).map((o) => o.metadata!.name)).to.deep.equal(['api-tier']);
  });

  it('recovers by itself after the API server is killed and restarted, and sees a change made afterwards', async function () {
    if (!cluster.local) this.skip();
    const informer = configMapInformer();
    const events: string[] = [];
    informer.on('add', (o) => events.push(`add ${o.metadata!.name}`));
    informer.on('update', (o) => events.push(`update ${o.metadata!.name} ${o.data?.v}`));
    informer.on('delete', (o) => events.push(`delete ${o.metadata!.name}`));
    await informer.start();
    await applyObject(clients, configMap('survivor', { v: '1' }), 'test');
    await waitFor('add of survivor', 10_000, () => events.includes('add survivor'));

    await cluster.restartApiServer();

    const t0 = Date.now();
    await applyObject(clients, configMap('after-restart', { v: '1' }), 'test');
    await applyObject(clients, configMap('survivor', { v: '2' }), 'test');
    await deleteObject(clients, configMap('before-start', {}));
    await waitFor('events made after the restart', 30_000, () =>
      ['add after-restart', 'update survivor 2', 'delete before-start'].every((e) => events.includes(e)),
    );
    console.log(`      informer caught up ${Date.now() - t0} ms after the API server was ready; restarts: ${informer.restarts()}`);
    expect(informer.restarts()).to.be.greaterThan(0);
    expect(informer.get('after-restart', namespace)).to.not.equal(undefined);
  });
});
