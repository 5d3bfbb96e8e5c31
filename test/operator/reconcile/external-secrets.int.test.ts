// The user's Secrets the pods read (external database, S3 credentials) are part of the config hash:
// rotating one rolls the pods, against the real API server.
import { expect } from 'chai';
import { CONFIG_HASH_ANNOTATION } from '../../../operator/render/names.render.js';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor } from '../../support/cluster.js';
import { applyApp, exampleApp, startOperator, waitForCondition, type RunningOperator } from '../../support/operator.js';

describe('external Secrets in the config hash (real API server)', function () {
  this.timeout(180_000);
  let op: RunningOperator;
  let ns: string;

  before(async () => {
    ns = await createTestNamespace('extsecret');
    op = await startOperator({ resyncMs: 2_000, watchNamespace: ns });
  });

  after(async () => {
    await op?.stop();
    if (ns) await deleteTestNamespace(ns);
  });

  it('rolls the API pods when the external database Secret is rotated', async () => {
    const cluster = await getCluster();
    await cluster.kubectl(['create', 'secret', 'generic', 'rds', '-n', ns, '--from-literal=host=db.example.com', '--from-literal=password=first']);
    const name = 'rotated';
    await applyApp(op.clients, ns, { ...exampleApp('stage-2-split-database.yaml', name), spec: { users: 10, database: { external: { secretName: 'rds' } } } });
    await waitForCondition(op.clients, ns, name, 'Ready', 'True', { timeoutMs: 90_000 });
    const hash = async () => (await op.clients.apps.readNamespacedDeployment({ namespace: ns, name: `${name}-api` })).spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
    const before = await hash();
    expect(before).to.be.a('string');

    const patched = await cluster.kubectl(['patch', 'secret', 'rds', '-n', ns, '-p', '{"stringData":{"password":"second"}}']);
    expect(patched.code, patched.stderr).to.equal(0);
    await waitFor('the config hash to change', 30_000, async () => (await hash()) !== before);
  });
});
