import { expect } from 'chai';
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { stuckPodsToReplace } from '../../../operator/reconcile/rollout.reconcile.js';

const sts = (over: { generation?: number; observed?: number; update?: string } = {}): V1StatefulSet =>
  ({
    metadata: { name: 'g-db', namespace: 'ns', uid: 'sts-uid', generation: over.generation ?? 2 },
    status: { observedGeneration: over.observed ?? 2, updateRevision: over.update ?? 'g-db-new', replicas: 1 },
  }) as V1StatefulSet;

const pod = (name: string, revision: string, waiting?: string, opts: { owner?: string; deleting?: boolean } = {}): V1Pod =>
  ({
    metadata: {
      name,
      namespace: 'ns',
      labels: { 'controller-revision-hash': revision, 'app.kubernetes.io/component': 'database' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'g-db', uid: opts.owner ?? 'sts-uid', controller: true }],
      ...(opts.deleting ? { deletionTimestamp: new Date(0) } : {}),
    },
    status: { containerStatuses: [{ name: 'postgres', image: 'x', imageID: '', ready: false, restartCount: 0, state: waiting ? { waiting: { reason: waiting } } : { running: {} } }] },
  }) as unknown as V1Pod;

const names = (pods: V1Pod[]) => pods.map((p) => p.metadata!.name);

describe('rollout.reconcile: stuckPodsToReplace', () => {
  it('replaces a pod stuck on an older revision', () => {
    expect(names(stuckPodsToReplace([sts()], [pod('g-db-0', 'g-db-old', 'ImagePullBackOff')]))).to.deep.equal(['g-db-0']);
    expect(names(stuckPodsToReplace([sts()], [pod('g-db-0', 'g-db-old', 'CrashLoopBackOff')]))).to.deep.equal(['g-db-0']);
  });

  it('leaves running pods, pods on the update revision, pods still starting and pods being deleted', () => {
    const pods = [
      pod('running', 'g-db-old'),
      pod('current', 'g-db-new', 'ImagePullBackOff'),
      pod('starting', 'g-db-old', 'ContainerCreating'),
      pod('deleting', 'g-db-old', 'ImagePullBackOff', { deleting: true }),
      pod('other-owner', 'g-db-old', 'ImagePullBackOff', { owner: 'other' }),
    ];
    expect(stuckPodsToReplace([sts()], pods)).to.deep.equal([]);
  });

  it('waits until the StatefulSet controller has seen the new template', () => {
    expect(stuckPodsToReplace([sts({ generation: 3, observed: 2 })], [pod('g-db-0', 'g-db-old', 'ImagePullBackOff')])).to.deep.equal([]);
  });
});
