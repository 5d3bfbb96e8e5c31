// The control plane the suites run against is a real one: scheduling, kwok nodes, controllers, RBAC,
// Pod Security admission and volume binding all take part.
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor } from '../support/cluster.js';

describe('the test control plane', function () {
  this.timeout(120_000);
  let ns: string;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;

  before(async () => {
    const cluster = await getCluster();
    apps = cluster.kc.makeApiClient(k8s.AppsV1Api);
    core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    ns = await createTestNamespace('control-plane');
  });

  after(async () => {
    if (ns) await deleteTestNamespace(ns);
  });

  it('runs a plain Deployment with Ready pods on the fake nodes', async () => {
    const labels = { app: 'hello' };
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'hello' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'hello',
                  image: 'registry.example/hello:1',
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                },
              ],
            },
          },
        },
      },
    });
    await waitFor('2 ready replicas', 60_000, async () => {
      const d = await apps.readNamespacedDeployment({ name: 'hello', namespace: ns });
      return d.status?.readyReplicas === 2;
    });
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=hello' });
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName, 'scheduled by kube-scheduler').to.match(/^kwok-node-/);
      expect(pod.status?.phase).to.equal('Running');
      expect(pod.status?.podIP, 'an IP from the node').to.be.a('string').and.not.be.empty;
    }
  });

  it('binds a PersistentVolumeClaim through the default StorageClass', async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });
    await waitFor('the claim to be Bound', 30_000, async () => {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns });
      return pvc.status?.phase === 'Bound';
    });
  });

  it('enforces Pod Security "restricted" in the test namespaces', async () => {
    // No securityContext at all: may run as root, may escalate, keeps capabilities.
    const loose = core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'loose' }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
    const err = await loose.then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: string },
    );
    expect(err, 'a pod without a restricted securityContext is rejected').to.not.equal(undefined);
    expect(err?.code).to.equal(403);
    expect(String(err?.body)).to.contain('violates PodSecurity');
  });

  it('authorizes with RBAC: a fresh ServiceAccount may not list Secrets', async function () {
    const cluster = await getCluster();
    const res = await cluster.kubectl(['auth', 'can-i', 'list', 'secrets', '-n', ns, `--as=system:serviceaccount:${ns}:default`]);
    expect(res.stdout.trim()).to.equal('no');
    if (!cluster.local) return;
    const version = await cluster.kubectl(['version', '-o', 'json']);
    expect(JSON.parse(version.stdout).serverVersion.gitVersion).to.match(/^v1\.36\./);
  });
});
