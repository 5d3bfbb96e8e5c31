// The user's Secrets the pods read (external database, S3 credentials) are part of the config hash:
// rotating one rolls the pods, against the real API server; and each is read once per pass.
import { expect } from 'chai';
import { CONFIG_HASH_ANNOTATION } from '../../../operator/render/names.render.js';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor } from '../../support/cluster.js';
import { applyApp, exampleApp, startOperator, waitForCondition, type RunningOperator } from '../../support/operator.js';

/** A PEM block: the operator checks that the CA key holds one; kwok's pods never parse it. */
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

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

  // One Secret named by three fields: the database credentials, their CA and the S3 credentials. The
  // reconciler used to read it once per field (3 GETs per pass).
  it('reads a user Secret once per pass, however many fields name it', async () => {
    const cluster = await getCluster();
    const created = await cluster.kubectl([
      'create', 'secret', 'generic', 'shared', '-n', ns,
      '--from-literal=host=db.example.com', '--from-literal=password=pw', `--from-literal=ca.crt=${PEM}`,
      '--from-literal=AWS_ACCESS_KEY_ID=id', '--from-literal=AWS_SECRET_ACCESS_KEY=key',
    ]);
    expect(created.code, created.stderr).to.equal(0);
    const name = 'shared-secret';
    await applyApp(op.clients, ns, {
      ...exampleApp('stage-5-cdn.yaml', name),
      spec: {
        users: 10000,
        cdn: { origin: { s3: { bucket: 'photos', credentialsSecret: 'shared' } } },
        database: { external: { secretName: 'shared', sslRootCert: { secretName: 'shared' } } },
      },
    });
    await waitForCondition(op.clients, ns, name, 'Ready', 'True', { timeoutMs: 120_000 });
    const metric = async (metricName: string, where: (labels: Partial<Record<string, string | number>>) => boolean = () => true) =>
      ((await op.registry.getSingleMetric(metricName)?.get())?.values ?? []).filter((v) => where(v.labels)).reduce((n, v) => n + v.value, 0);
    const gets = () => metric('rest_client_requests_total', (l) => l.method === 'GET');
    const reconciles = () => metric('controller_runtime_reconcile_total');
    // At rest (no write for 5 s) the only requests are these reads: every child comes from the caches.
    await op.atRest();
    const [writes, getsBefore, reconcilesBefore] = [await op.writes(), await gets(), await reconciles()];
    await new Promise((r) => setTimeout(r, 10_000)); // resync every 2 s: about 5 passes
    const reads = (await gets()) - getsBefore;
    const passes = (await reconciles()) - reconcilesBefore;
    expect(await op.writes(), 'writes in the window').to.equal(writes);
    expect(passes, 'passes in the window').to.be.at.least(3);
    // A pass that began before the window may read inside it: one read more than passes at most.
    expect(reads, `${reads} GETs in ${passes} passes`).to.be.within(passes - 1, passes + 1);
  });
});
