// The setup of the Redis int tests against the real API server (kwok runs the pods): a namespace with the S3
// Secret the data-layer example names, an operator resyncing every 3 s, and the example with a given cache.shards.
import type { GraminstaApp } from '../../operator/api/types.gen.js';
import { createTestNamespace, deleteTestNamespace, getCluster } from './cluster.js';
import { exampleApp, startOperator, type RunningOperator } from './operator.js';

/** Registers the before/after hooks of the calling suite; the getters are valid inside its tests. */
export function dataLayerSuite(prefix: string, name: string): { op: () => RunningOperator; ns: () => string; withShards: (shards: number) => GraminstaApp } {
  let op: RunningOperator | undefined;
  let ns: string | undefined;
  before(async () => {
    const cluster = await getCluster();
    ns = await createTestNamespace(prefix);
    await cluster.kubectl(['create', 'secret', 'generic', 'graminsta-s3', '-n', ns, '--from-literal=AWS_ACCESS_KEY_ID=a', '--from-literal=AWS_SECRET_ACCESS_KEY=b']);
    op = await startOperator({ resyncMs: 3_000 });
  });
  after(async () => {
    await op?.stop();
    if (ns) await deleteTestNamespace(ns);
  });
  const withShards = (shards: number): GraminstaApp => {
    const app = exampleApp('stage-6-data-layer.yaml', name);
    const { replicasPerShard, ...cache } = app.spec!.cache ?? {};
    // A standalone has no replicas: the field is refused with shards 1.
    app.spec!.cache = shards === 1 ? { ...cache, shards } : { ...cache, ...(replicasPerShard === undefined ? {} : { replicasPerShard }), shards };
    return app;
  };
  return { op: () => op!, ns: () => ns!, withShards };
}
