// The setup of the Redis int tests against the real API server (kwok runs the pods): a namespace with the S3
// Secret the data-layer example names, an operator resyncing every 3 s, and the example with a given cache.shards.
import type { GraminstaApp } from '../../operator/api/types.gen.js';
import { createTestNamespace, deleteTestNamespace, getCluster } from './cluster.js';
import { exampleApp, startOperator, type RunningOperator } from './operator.js';

/** What the suite's tests use; `op` and `ns` are set once its before hook ran. */
export interface DataLayerSuite {
  op: RunningOperator;
  ns: string;
  /** The stage-6 example named as the suite's app with `shards` (a standalone without replicasPerShard). */
  withShards: (shards: number) => GraminstaApp;
}

/** `cache` (a spec.cache) with `shards`: replicasPerShard kept for a cluster, dropped for a standalone (the field is refused with shards 1). */
export function withCacheShards<C extends { replicasPerShard?: number }>(cache: C, shards: number): Omit<C, 'replicasPerShard'> & { shards: number; replicasPerShard?: number } {
  const { replicasPerShard, ...rest } = cache;
  return shards === 1 || replicasPerShard === undefined ? { ...rest, shards } : { ...rest, replicasPerShard, shards };
}

/** Registers the before/after hooks of the calling suite. */
export function dataLayerSuite(prefix: string, name: string): DataLayerSuite {
  const suite = {
    withShards: (shards: number): GraminstaApp => {
      const app = exampleApp('stage-6-data-layer.yaml', name);
      app.spec!.cache = withCacheShards(app.spec!.cache ?? {}, shards);
      return app;
    },
  } as DataLayerSuite;
  before(async () => {
    const cluster = await getCluster();
    suite.ns = await createTestNamespace(prefix);
    await cluster.kubectl(['create', 'secret', 'generic', 'graminsta-s3', '-n', suite.ns, '--from-literal=AWS_ACCESS_KEY_ID=a', '--from-literal=AWS_SECRET_ACCESS_KEY=b']);
    suite.op = await startOperator({ resyncMs: 3_000 });
  });
  after(async () => {
    await suite.op?.stop();
    if (suite.ns) await deleteTestNamespace(suite.ns);
  });
  return suite;
}
