// End to end, as a user: the sample app applied with kubectl reaches Ready, grows to the data-layer
// stage, is scaled, shrinks back and is deleted. The operator is the one the chart installed
// (GRAMINSTA_E2E_OPERATOR=in-cluster, on kind) or, on the local control plane, a process started here.
import { expect } from 'chai';
import { join } from 'node:path';
import { createTestNamespace, deleteTestNamespace, getCluster, repoRoot, waitFor } from '../support/cluster.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';

interface AppView {
  metadata: { generation: number };
  status?: { observedGeneration?: number; stage?: string; conditions?: { type: string; status: string; reason: string }[]; api?: { summary?: string } };
}

describe('end to end: the sample GraminstaApp through kubectl', function () {
  this.timeout(600_000);
  let ns: string;
  let operator: OperatorProcess | undefined;

  const kubectl = async (...args: string[]) => {
    const cluster = await getCluster();
    const res = await cluster.kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${res.stderr}`);
    return res.stdout;
  };
  const app = async (): Promise<AppView> => JSON.parse(await kubectl('get', 'graminstaapp', 'graminsta', '-n', ns, '-o', 'json')) as AppView;
  const waitReady = async (stage: string) => {
    let last: AppView | undefined;
    await waitFor(`graminsta Ready at stage ${stage}`, 180_000, async () => {
      last = await app();
      const ready = last.status?.conditions?.find((c) => c.type === 'Ready');
      return last.status?.observedGeneration === last.metadata.generation && ready?.status === 'True' && last.status?.stage === stage;
    }, 500).catch((err: Error) => {
      throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}`);
    });
    return last!;
  };

  before(async () => {
    ns = await createTestNamespace('e2e');
    await kubectl('create', 'secret', 'generic', 'graminsta-s3', '-n', ns, '--from-literal=AWS_ACCESS_KEY_ID=a', '--from-literal=AWS_SECRET_ACCESS_KEY=b');
    if (process.env.GRAMINSTA_E2E_OPERATOR !== 'in-cluster') operator = await startOperatorProcess('e2e-operator', ns);
  });

  after(async () => {
    operator?.child.kill('SIGTERM');
    if (ns) await deleteTestNamespace(ns);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && operator) console.error(operator.logs.join('').slice(-4000));
  });

  it('applies the sample and reaches Ready', async () => {
    await kubectl('apply', '--server-side', '-n', ns, '-f', join(repoRoot, 'examples/graminsta.yaml'));
    const a = await waitReady('cdn');
    const table = await kubectl('get', 'graminstaapp', '-n', ns);
    expect(table).to.match(/graminsta\s+cdn\s+\d+\/\d+\s+\S+\s+off\s+True/);
    expect(a.status?.api?.summary).to.match(/^(\d+)\/\1$/);
  });

  it('grows to the data-layer stage with a Redis Cluster and read replicas', async () => {
    await kubectl('patch', 'graminstaapp', 'graminsta', '-n', ns, '--type', 'merge', '-p', '{"spec":{"users":100000,"cache":{"enabled":true,"shards":3},"database":{"readReplicas":2}}}');
    await waitReady('data-layer');
    const sets = await kubectl('get', 'statefulsets', '-n', ns, '-l', 'app.kubernetes.io/instance=graminsta', '-o', 'name');
    expect(sets).to.contain('statefulset.apps/graminsta-redis').and.to.contain('statefulset.apps/graminsta-db-replica');
    const ro = await kubectl('get', 'service', 'graminsta-db-ro', '-n', ns, '-o', 'name');
    expect(ro.trim()).to.equal('service/graminsta-db-ro');
  });

  it('shrinks back to split-clients and prunes what that stage does not run', async () => {
    // A JSON merge patch with nulls removes the tiers the sample and the last step configured.
    const spec = { users: 100, api: null, web: null, ingress: null, cdn: null, database: null, cache: null };
    await kubectl('patch', 'graminstaapp', 'graminsta', '-n', ns, '--type', 'merge', '-p', JSON.stringify({ spec }));
    await waitReady('split-clients');
    await waitFor('Redis, replicas, HPA and Ingress to be pruned', 60_000, async () => {
      const left = await kubectl('get', 'statefulsets,hpa,ingresses', '-n', ns, '-l', 'app.kubernetes.io/instance=graminsta', '-o', 'name');
      return !left.includes('graminsta-redis') && !left.includes('graminsta-db-replica') && !left.includes('horizontalpodautoscaler') && !left.includes('ingress');
    });
  });

  it('scales the API with kubectl scale', async () => {
    await kubectl('scale', 'graminstaapp', 'graminsta', '-n', ns, '--replicas=3');
    await waitFor('3 API pods', 60_000, async () => (await kubectl('get', 'deployment', 'graminsta-api', '-n', ns, '-o', 'jsonpath={.status.readyReplicas}')) === '3');
    const a = await waitReady('split-clients');
    expect(a.status?.api?.summary).to.equal('3/3');
  });

  it('deletes the app and the garbage collector removes its children', async () => {
    await kubectl('delete', 'graminstaapp', 'graminsta', '-n', ns, '--wait=true');
    await waitFor('children to be gone', 90_000, async () =>
      (await kubectl('get', 'deployments,statefulsets,services', '-n', ns, '-l', 'app.kubernetes.io/instance=graminsta', '-o', 'name')).trim() === '',
    );
  });
});
