// A change of cache mode (cluster -> standalone) against the real API server (kwok runs the pods): both modes'
// StatefulSets live while the copy Job runs, the API's settings switch only after it succeeded, and the cluster is
// pruned only after that. Sampled while the operator works, so every order it could take is checked as it happens.
import { expect } from 'chai';
import type { V1ConfigMap, V1Job } from '@kubernetes/client-node';
import { waitFor } from '../../support/cluster.js';
import { dataLayerSuite } from '../../support/data-layer-suite.js';
import { applyApp, listChildren, readApp, waitForCondition } from '../../support/operator.js';

describe('Redis mode change order (real API server)', function () {
  this.timeout(300_000);
  const name = 'mode';
  const s = dataLayerSuite('redis-mode', name);

  const names = async (kind: string, apiVersion: string) => (await listChildren(s.op.clients, apiVersion, kind, s.ns, name)).map((o) => o.metadata!.name!);

  /** Samples the operator's work until the old mode's StatefulSet is pruned, and checks the order at every sample. */
  async function change(to: 'standalone' | 'cluster', shards: number): Promise<void> {
    const [oldSet, newSet] = to === 'standalone' ? [`${name}-redis`, `${name}-redis-standalone`] : [`${name}-redis-standalone`, `${name}-redis`];
    const started = Date.now();
    await applyApp(s.op.clients, s.ns, s.withShards(shards));
    const samples: { both: boolean; old: boolean; switched: boolean; copied: boolean; copyJob: boolean }[] = [];
    await waitFor(`StatefulSet ${oldSet} to be pruned`, 180_000, async () => {
      const sets = await names('StatefulSet', 'apps/v1');
      const jobs = (await listChildren(s.op.clients, 'batch/v1', 'Job', s.ns, name)) as V1Job[];
      const copy = jobs.find((j) => j.metadata!.name!.startsWith(`${name}-redis-copy-`));
      const config = (await s.op.clients.objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-api-config`, namespace: s.ns } })) as V1ConfigMap;
      const recorded = (await readApp(s.op.clients, s.ns, name)).status?.completedJobs ?? [];
      const old = sets.includes(oldSet);
      samples.push({
        both: old && sets.includes(newSet),
        old,
        switched: config.data?.GRAMINSTA_REDIS_MODE === to,
        copied: (copy?.status?.succeeded ?? 0) > 0 || recorded.some((j) => j.startsWith(`${name}-redis-copy-`)),
        copyJob: !!copy,
      });
      return !old;
    });
    expect(samples.some((s) => s.both && s.copyJob), 'both modes ran while the copy Job existed').to.equal(true);
    // Once the old mode is pruned the copy Job is no longer desired and leaves status.completedJobs: look before.
    expect(samples.filter((s) => s.old && s.switched && !s.copied), 'the API switched only after the copy succeeded').to.deep.equal([]);
    const firstSwitched = samples.findIndex((s) => s.switched);
    expect(firstSwitched, 'the API switched').to.be.at.least(0);
    expect(samples.slice(0, firstSwitched + 1).every((s) => s.old), 'the old mode ran until the switch').to.equal(true);
    const done = await waitForCondition(s.op.clients, s.ns, name, 'CacheReady', 'True');
    expect(done.status?.cache).to.deep.include({ shards });
    const services = await names('Service', 'v1');
    expect(services).to.include(newSet).and.to.not.include(oldSet);
    console.log(`      [redis-mode] operator: -> ${to} under kwok took ${((Date.now() - started) / 1000).toFixed(1)} s to prune ${oldSet} (${samples.length} samples)`);
  }

  it('3 shards -> standalone: the new standalone starts beside the cluster, the copy Job runs, then the API switches, then the cluster goes', async () => {
    await applyApp(s.op.clients, s.ns, s.withShards(3));
    await waitForCondition(s.op.clients, s.ns, name, 'Ready', 'True', { timeoutMs: 180_000 });
    await change('standalone', 1);
  });

  it('standalone -> 3 shards: the cluster forms beside the standalone, the copy Job runs after the form Job, then the API switches, then the standalone goes', async () => {
    await change('cluster', 3);
  });
});
