import { expect } from 'chai';
import type { V1Deployment, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { computeStatus, podIssues, setCondition, statusChanged, tierStates, type Observation } from '../../../operator/reconcile/status.reconcile.js';

const now = '2026-01-01T00:00:00Z';
const later = '2026-01-01T00:05:00Z';

function deployment(name: string, replicas: number, ready: number, opts: { generation?: number; observed?: number; updated?: number } = {}): V1Deployment {
  return {
    kind: 'Deployment',
    metadata: { name, generation: opts.generation ?? 1 },
    spec: { replicas, selector: {}, template: {} },
    status: { observedGeneration: opts.observed ?? 1, replicas, readyReplicas: ready, updatedReplicas: opts.updated ?? replicas },
  };
}

function statefulSet(name: string, replicas: number, ready: number): V1StatefulSet {
  return {
    kind: 'StatefulSet',
    metadata: { name, generation: 1 },
    spec: { replicas, selector: {}, template: {}, serviceName: name },
    status: { observedGeneration: 1, replicas, readyReplicas: ready, updatedReplicas: replicas },
  };
}

function observation(over: Partial<Observation> = {}): Observation {
  return {
    generation: 3,
    stage: 'data-layer',
    apiWorkload: deployment('g-api', 3, 3),
    apiDesiredReplicas: 3,
    webEnabled: true,
    webDeployment: deployment('g-web', 2, 2),
    webDesiredReplicas: 2,
    database: { placement: 'in-cluster', primary: statefulSet('g-db', 1, 1), replicas: statefulSet('g-db-replica', 2, 2), desiredReplicas: 2 },
    cache: { enabled: true, nodes: [statefulSet('g-redis', 6, 6)], desiredNodes: 6 },
    endpoints: { api: 'https://api.example.com', web: 'https://example.com', cdn: 'https://cdn.example.com' },
    selector: 'app.kubernetes.io/instance=g,app.kubernetes.io/component=api',
    paused: false,
    ...over,
  };
}

const cond = (s: ReturnType<typeof computeStatus>, type: string) => s.conditions.find((c) => c.type === type)!;

describe('status.reconcile', () => {
  it('is Ready when every tier is ready', () => {
    const s = computeStatus(observation(), undefined, now);
    expect(cond(s, 'Ready')).to.include({ status: 'True', reason: 'AllTiersReady' });
    expect(cond(s, 'Reconciling')).to.include({ status: 'False', reason: 'ReconcileComplete' });
    expect(cond(s, 'Stalled')).to.include({ status: 'False', reason: 'AsExpected' });
    expect(s).to.deep.include({ observedGeneration: 3, stage: 'data-layer', replicas: 3 });
    expect(s.api).to.deep.equal({ replicas: 3, readyReplicas: 3, summary: '3/3' });
    expect(s.web).to.deep.equal({ replicas: 2, readyReplicas: 2, summary: '2/2' });
    expect(s.database).to.deep.equal({ primaryReady: true, readyReplicas: 2, summary: 'ready+2/2' });
    expect(s.cache).to.deep.equal({ readyNodes: 6, shards: 0, replicasPerShard: 0, summary: '6/6' });
  });

  it('is not Ready while the ingress tier is not (HTTPRoutes not accepted), naming the route', () => {
    const parent = { group: 'gateway.networking.k8s.io' as const, kind: 'Gateway' as const, name: 'public', namespace: 'photos' };
    const s = computeStatus(observation({ ingress: { kind: 'HTTPRoute', parent, served: true, routes: [{ name: 'g' }] } }), undefined, now);
    expect(cond(s, 'IngressReady')).to.include({ status: 'False', reason: 'NotCreated' });
    expect(cond(s, 'Ready')).to.include({ status: 'False', reason: 'TiersNotReady' });
    expect(cond(s, 'Ready')!.message).to.match(/IngressReady: waiting for HTTPRoute g to be created/);
    expect(cond(computeStatus(observation(), undefined, now), 'IngressReady')).to.include({ status: 'True', reason: 'NotRequired' });
  });

  it('says which tier is not ready and why', () => {
    const s = computeStatus(observation({ apiWorkload: deployment('g-api', 3, 1) }), undefined, now);
    expect(cond(s, 'Ready')).to.include({ status: 'False', reason: 'TiersNotReady' });
    expect(cond(s, 'Ready').message).to.contain('ApiReady: 1/3 pods of g-api are ready');
    expect(cond(s, 'ApiReady')).to.include({ status: 'False', reason: 'PodsNotReady' });
    expect(cond(s, 'Reconciling')).to.include({ status: 'True', reason: 'Progressing' });
  });

  it('waits for a Deployment to observe its latest generation', () => {
    const s = tierStates(observation({ apiWorkload: deployment('g-api', 3, 3, { generation: 2, observed: 1 }) }));
    expect(s.ApiReady).to.include({ status: 'False', reason: 'RolloutPending' });
  });

  it('reports a rolling update', () => {
    const s = tierStates(observation({ webDeployment: deployment('g-web', 2, 2, { updated: 1 }) }));
    expect(s.WebReady).to.include({ status: 'False', reason: 'RollingUpdate' });
  });

  it('counts a missing workload as not created', () => {
    const s = tierStates(observation({ webDeployment: undefined }));
    expect(s.WebReady).to.include({ status: 'False', reason: 'NotCreated' });
  });

  it('marks disabled tiers as not required', () => {
    const s = tierStates(observation({ webEnabled: false, webDeployment: undefined, cache: { enabled: false, desiredNodes: 0 } }));
    expect(s.WebReady).to.include({ status: 'True', reason: 'NotRequired' });
    expect(s.CacheReady).to.include({ status: 'True', reason: 'NotRequired' });
  });

  it('waits for read replicas', () => {
    const s = tierStates(observation({ database: { placement: 'in-cluster', primary: statefulSet('g-db', 1, 1), replicas: statefulSet('g-db-replica', 2, 1), desiredReplicas: 2 } }));
    expect(s.DatabaseReady).to.include({ status: 'False', reason: 'PodsNotReady' });
  });

  it('reports an external database as ready without a StatefulSet', () => {
    const s = computeStatus(observation({ database: { placement: 'external', desiredReplicas: 0 } }), undefined, now);
    expect(cond(s, 'DatabaseReady')).to.include({ status: 'True', reason: 'External' });
    expect(s.database).to.deep.include({ primaryReady: true, summary: 'external' });
  });

  it('reports cache nodes that are not ready, then a forming cluster', () => {
    expect(tierStates(observation({ cache: { enabled: true, nodes: [statefulSet('g-redis', 6, 4)], desiredNodes: 6 } })).CacheReady).to.include({ reason: 'NodesNotReady' });
    const forming = observation({
      cache: { enabled: true, nodes: [statefulSet('g-redis', 6, 6)], desiredNodes: 6, formJob: { metadata: { name: 'g-redis-form' }, status: {} } },
    });
    expect(tierStates(forming).CacheReady).to.include({ reason: 'ClusterForming' });
  });

  it('reports Resharding while the form Job changes a formed shape, records the new shape once it succeeded', () => {
    const job = { metadata: { name: 'g-redis-init-2' }, status: {} };
    const cache = { enabled: true, nodes: [statefulSet('g-redis', 12, 12)], desiredNodes: 12, shape: { shards: 6, replicasPerShard: 1 } };
    const growing = computeStatus(observation({ cache: { ...cache, formJob: job, formed: { shards: 3, replicasPerShard: 1 } } }), undefined, now);
    expect(cond(growing, 'CacheReady')).to.include({ status: 'False', reason: 'Resharding' });
    expect(cond(growing, 'CacheReady').message).to.contain('from 3 shards with 1 replica(s) each to 6 shards with 1 replica(s) each');
    expect(growing.cache).to.deep.equal({ readyNodes: 12, shards: 3, replicasPerShard: 1, summary: '12/12 resharding 3->6' });
    expect(cond(growing, 'Ready')).to.include({ status: 'False' });

    const done = computeStatus(observation({ cache: { ...cache, formJob: { ...job, status: { succeeded: 1 } }, formed: { shards: 3, replicasPerShard: 1 } } }), undefined, now);
    expect(cond(done, 'CacheReady')).to.include({ status: 'True', reason: 'Ready' });
    expect(done.cache).to.deep.equal({ readyNodes: 12, shards: 6, replicasPerShard: 1, summary: '12/12' });

    // The first forming is not a reshard; nor is a form Job run again for the same shape.
    const first = tierStates(observation({ cache: { ...cache, formJob: job, formed: { shards: 0, replicasPerShard: 0 } } }));
    expect(first.CacheReady).to.include({ reason: 'ClusterForming' });
    const same = tierStates(observation({ cache: { ...cache, formJob: job, formed: { shards: 6, replicasPerShard: 1 } } }));
    expect(same.CacheReady).to.include({ reason: 'ClusterForming' });
    // Standalone -> cluster is a reshard too (the form Job copies the standalone's keys in).
    const fromStandalone = tierStates(observation({ cache: { ...cache, formJob: job, formed: { shards: 1, replicasPerShard: 0 } } }));
    expect(fromStandalone.CacheReady.message).to.contain('from a standalone node to 6 shards');
  });

  it('records a standalone cache as shards 1 once its node is ready', () => {
    const s = computeStatus(observation({ cache: { enabled: true, nodes: [statefulSet('g-redis', 1, 1)], desiredNodes: 1, shape: { shards: 1, replicasPerShard: 0 } } }), undefined, now);
    expect(s.cache).to.deep.include({ shards: 1, replicasPerShard: 0 });
  });

  it('reports a failed migration', () => {
    const s = tierStates(
      observation({ migrateJob: { metadata: { name: 'g-migrate-1' }, status: { conditions: [{ type: 'Failed', status: 'True' }] } } }),
    );
    expect(s.DatabaseReady).to.include({ status: 'False', reason: 'MigrationFailed' });
  });

  it('is Stalled with the error reason when a user must act', () => {
    const s = computeStatus(observation({ error: { reason: 'ExternalDatabaseSecretNotFound', message: 'Secret photos/rds was not found', terminal: true } }), undefined, now);
    expect(cond(s, 'Stalled')).to.include({ status: 'True', reason: 'ExternalDatabaseSecretNotFound' });
    expect(cond(s, 'Ready')).to.include({ status: 'False', reason: 'ExternalDatabaseSecretNotFound' });
    expect(cond(s, 'Reconciling')).to.include({ status: 'False' });
  });

  it('stays Reconciling, not Stalled, after a transient error, and keeps Ready from the tiers', () => {
    const s = computeStatus(observation({ error: { reason: 'ReconcileFailed', message: 'etcdserver: request timed out', terminal: false } }), undefined, now);
    expect(cond(s, 'Stalled')).to.include({ status: 'False' });
    expect(cond(s, 'Reconciling')).to.include({ status: 'True', reason: 'RetryingAfterError' });
    expect(cond(s, 'Ready')).to.include({ status: 'True' });
  });

  it('is not Ready while the last pass still waits for something, though every tier looks ready in the cache', () => {
    const s = computeStatus(observation({ waiting: ['Deployment g-api has not been updated yet'] }), undefined, now);
    expect(cond(s, 'Ready')).to.include({ status: 'False', reason: 'Reconciling' });
    expect(cond(s, 'Ready').message).to.contain('Deployment g-api has not been updated yet');
    expect(cond(s, 'Reconciling')).to.include({ status: 'True', reason: 'Progressing' });
  });

  it('stays Ready while an HPA scales a tier up (readiness needs the minimum, not the current desire)', () => {
    const s = computeStatus(
      observation({
        apiWorkload: deployment('g-api', 5, 3),
        apiAutoscaler: { spec: { minReplicas: 3, maxReplicas: 10, scaleTargetRef: { kind: 'Deployment', name: 'g-api' } }, status: { desiredReplicas: 5, currentReplicas: 5 } },
      }),
      undefined,
      now,
    );
    expect(cond(s, 'Ready')).to.include({ status: 'True' });
    expect(s.api.summary).to.equal('3/5');
  });

  it('says so when paused', () => {
    expect(cond(computeStatus(observation({ paused: true }), undefined, now), 'Reconciling')).to.include({ status: 'False', reason: 'Paused' });
  });

  it('uses the HPA desire for the api tier', () => {
    const s = tierStates(
      observation({
        apiWorkload: deployment('g-api', 5, 5),
        apiAutoscaler: { spec: { minReplicas: 3, maxReplicas: 10, scaleTargetRef: { kind: 'Deployment', name: 'g-api' } }, status: { desiredReplicas: 5, currentReplicas: 5 } },
      }),
    );
    expect(s.ApiReady.status).to.equal('True');
  });

  it('waits for an autoscaled tier to reach the HPA minimum', () => {
    const hpa = { spec: { minReplicas: 2, maxReplicas: 6, scaleTargetRef: { kind: 'Deployment', name: 'g-web' } }, status: { desiredReplicas: 0, currentReplicas: 1 } };
    const o = observation({ webDeployment: deployment('g-web', 1, 1), webAutoscaler: hpa, webDesiredReplicas: 1 });
    expect(tierStates(o).WebReady).to.include({ status: 'False', reason: 'PodsNotReady' });
    expect(computeStatus(o, undefined, now).web.summary).to.equal('1/2');
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = computeStatus(observation(), undefined, now);
    const second = computeStatus(observation(), first, later);
    expect(cond(second, 'Ready').lastTransitionTime).to.equal(now);
    expect(statusChanged(first, second)).to.equal(false);
    const third = computeStatus(observation({ apiWorkload: deployment('g-api', 3, 2) }), second, later);
    expect(cond(third, 'Ready').lastTransitionTime).to.equal(later);
    expect(statusChanged(second, third)).to.equal(true);
  });

  it('setCondition stamps a new transition time on a status change', () => {
    const old = [{ type: 'Ready', status: 'False' as const, reason: 'X', message: '', lastTransitionTime: now }];
    expect(setCondition(old, { type: 'Ready', status: 'True', reason: 'Y', message: '' }, later).lastTransitionTime).to.equal(later);
    expect(setCondition(old, { type: 'Ready', status: 'False', reason: 'Z', message: '' }, later).lastTransitionTime).to.equal(now);
  });

  it('ignores key order when comparing statuses', () => {
    expect(statusChanged({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).to.equal(false);
  });
});

describe('status.reconcile: containers that cannot start', () => {
  const pod = (name: string, component: string, state: Record<string, unknown>, opts: { init?: boolean; deleting?: boolean } = {}): V1Pod => {
    const statuses = [{ name: component === 'database' ? 'postgres' : component, image: `graminsta.local/${component}:1`, imageID: '', ready: false, restartCount: 0, state }];
    return {
      metadata: { name, labels: { 'app.kubernetes.io/component': component }, ...(opts.deleting ? { deletionTimestamp: new Date(0) } : {}) },
      status: opts.init ? { initContainerStatuses: statuses } : { containerStatuses: statuses },
    } as unknown as V1Pod;
  };
  const pull = { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "graminsta.local/database:1"\nmore' } };

  it('lists only stuck waiting reasons, sorted, skipping pods being deleted', () => {
    const issues = podIssues([
      pod('b', 'api', { waiting: { reason: 'ContainerCreating' } }),
      pod('c', 'cache', { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } }),
      pod('a', 'database', pull, { init: true }),
      pod('d', 'web', pull, { deleting: true }),
      pod('e', 'web', { running: {} }),
    ]);
    expect(issues.map((i) => [i.pod, i.reason])).to.deep.equal([
      ['a', 'ImagePullBackOff'],
      ['c', 'CrashLoopBackOff'],
    ]);
    expect(issues[0]!.message).to.equal('graminsta.local/database:1: Back-off pulling image "graminsta.local/database:1"');
  });

  it('puts the kubelet reason on the tier that is not ready, naming the pod, container and image', () => {
    const o = observation({
      database: { placement: 'in-cluster', primary: statefulSet('g-db', 1, 0), replicas: statefulSet('g-db-replica', 2, 2), desiredReplicas: 2 },
      podIssues: podIssues([pod('g-db-0', 'database', pull)]),
    });
    const t = tierStates(o);
    expect(t.DatabaseReady.reason).to.equal('ImagePullBackOff');
    expect(t.DatabaseReady.message).to.match(/^pod g-db-0 container postgres: ImagePullBackOff graminsta\.local\/database:1: .*; 0\/1 pods of g-db are ready$/);
    expect(t.ApiReady.reason).to.equal('Ready');
    expect(cond(computeStatus(o, undefined, now), 'Ready').message).to.contain('ImagePullBackOff');
  });

  it('leaves a ready tier alone even when one of its pods is stuck (a rollout surge)', () => {
    const t = tierStates(observation({ podIssues: podIssues([pod('g-api-x', 'api', pull)]) }));
    expect(t.ApiReady).to.include({ status: 'True', reason: 'Ready' });
  });

  it('at single-machine reports the shared pod (component database) on the api tier too', () => {
    const o = observation({
      stage: 'single-machine',
      apiWorkload: statefulSet('g-db', 1, 0),
      apiDesiredReplicas: 1,
      webEnabled: false,
      webDeployment: undefined,
      database: { placement: 'embedded', desiredReplicas: 0 },
      cache: { enabled: false, desiredNodes: 0 },
      podIssues: podIssues([pod('g-db-0', 'database', { waiting: { reason: 'ErrImagePull', message: 'failed to pull' } })]),
    });
    expect(tierStates(o).ApiReady.reason).to.equal('ErrImagePull');
  });
});
