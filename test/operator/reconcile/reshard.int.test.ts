// The order of a Redis Cluster shrink against the real API server (kwok runs the pods): the form Job first, the
// StatefulSet scale-down only once it succeeded, and status Resharding meanwhile.
import { expect } from 'chai';
import type { V1Job, V1StatefulSet } from '@kubernetes/client-node';
import { getCluster, waitFor } from '../../support/cluster.js';
import { dataLayerSuite } from '../../support/data-layer-suite.js';
import { applyApp, condition, listChildren, readApp, waitForCondition } from '../../support/operator.js';

describe('Redis Cluster resize order (real API server)', function () {
  this.timeout(300_000);
  const name = 'reshard';
  const s = dataLayerSuite('reshard', name);

  const redis = async () => (await s.op.clients.objects.read({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: `${name}-redis`, namespace: s.ns } })) as V1StatefulSet;
  const formJobs = async () => (await listChildren(s.op.clients, 'batch/v1', 'Job', s.ns, name)).filter((j) => j.metadata!.name!.startsWith(`${name}-redis-init-`)) as V1Job[];

  it('shrinks 6 -> 3 shards: the StatefulSet keeps its 12 nodes and CacheReady says Resharding until the new form Job succeeded', async () => {
    const cluster = await getCluster();
    await applyApp(s.op.clients, s.ns, s.withShards(6));
    const grown = await waitForCondition(s.op.clients, s.ns, name, 'Ready', 'True', { timeoutMs: 180_000 });
    expect(grown.status?.cache).to.deep.include({ shards: 6, replicasPerShard: 1, summary: '12/12' });
    expect((await redis()).spec?.replicas).to.equal(12);
    const firstJob = (await formJobs()).map((j) => j.metadata!.name!);

    // Hold the next form Job's pod back: a quota of the pods that run now admits no new one.
    const pods = await cluster.kubectl(['get', 'pods', '-n', s.ns, '--field-selector=status.phase!=Succeeded,status.phase!=Failed', '-o', 'name']);
    const running = pods.stdout.split('\n').filter(Boolean).length;
    const quota = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'hold', namespace: s.ns }, spec: { hard: { pods: String(running) } } };
    expect((await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(quota) })).code).to.equal(0);
    await waitFor('the quota to be counted', 30_000, async () => (await cluster.kubectl(['get', 'resourcequota', 'hold', '-n', s.ns, '-o', 'jsonpath={.status.used.pods}'])).stdout === String(running));

    const started = Date.now();
    await applyApp(s.op.clients, s.ns, s.withShards(3));
    const resharding = await waitForCondition(s.op.clients, s.ns, name, 'CacheReady', 'False', { reason: 'Resharding' });
    expect(condition(resharding, 'CacheReady')?.message).to.contain('from 6 shards with 1 replica(s) each to 3 shards with 1 replica(s) each');
    expect(resharding.status?.cache?.summary).to.equal('12/6 resharding 6->3');
    expect(condition(resharding, 'Ready')?.status).to.equal('False');
    const job = (await formJobs()).find((j) => !firstJob.includes(j.metadata!.name!))!;
    expect(job, 'a new form Job').to.not.equal(undefined);
    expect(job.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'REDIS_CLUSTER_NODES')?.value?.split(',')).to.have.length(6);
    // Several resyncs (every 3 s): the leaving nodes stay while the Job cannot run.
    await new Promise((r) => setTimeout(r, 10_000));
    expect((await redis()).spec?.replicas, 'the StatefulSet keeps the leaving nodes while the Job has not run').to.equal(12);
    expect(condition(await readApp(s.op.clients, s.ns, name), 'CacheReady')?.reason).to.equal('Resharding');

    expect((await cluster.kubectl(['delete', 'resourcequota', 'hold', '-n', s.ns])).code).to.equal(0);
    let jobDoneWhenScaled: boolean | undefined;
    await waitFor('the StatefulSet to scale down to 6 nodes', 120_000, async () => {
      if ((await redis()).spec?.replicas !== 6) return false;
      const live = (await formJobs()).find((j) => j.metadata!.name === job.metadata!.name);
      jobDoneWhenScaled = (live?.status?.succeeded ?? 0) > 0;
      return true;
    });
    expect(jobDoneWhenScaled, 'the form Job had succeeded when the StatefulSet lost its ordinals').to.equal(true);
    const done = await waitForCondition(s.op.clients, s.ns, name, 'CacheReady', 'True');
    expect(done.status?.cache).to.deep.include({ shards: 3, replicasPerShard: 1 });
    console.log(`      [reshard] operator: 6 -> 3 shards under kwok (the Job held by a quota for 10 s) took ${((Date.now() - started) / 1000).toFixed(1)} s to CacheReady`);
  });
});
