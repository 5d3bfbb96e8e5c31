// Liveness of the operator process when the API server stops answering: its requests go through a TCP
// proxy that the test stalls, with a request timeout far beyond the reconcile deadline. The deadline
// aborts each hung reconcile, so the workers never stay stuck up to the health bound (twice the
// deadline): /healthz keeps passing, reconciles keep failing fast, and the app converges once the stall
// ends. Without the deadline's abort the workers would hang on the stalled requests and /healthz fail.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClients, type KubeClients } from '../../operator/kube/client.kube.js';
import { createTestNamespace, deleteTestNamespace, getCluster } from '../support/cluster.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { applyApp, exampleApp, readApp, waitForCondition } from '../support/operator.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const healthz = async (p: OperatorProcess) => {
  const res = await fetch(`http://127.0.0.1:${p.port}/healthz`);
  return { status: res.status, body: await res.text() };
};

describe('the operator process behind a stalled API server', function () {
  this.timeout(300_000);
  let ns: string;
  let clients: KubeClients;
  let proxy: TcpProxy | undefined;
  let op: OperatorProcess | undefined;

  before(async () => {
    const cluster = await getCluster();
    clients = createKubeClients(cluster.kc);
    ns = await createTestNamespace('health');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && op) console.error(`--- logs of ${op.name} ---\n${op.logs.join('').slice(-6000)}`);
  });

  after(async () => {
    op?.child.kill('SIGKILL');
    await proxy?.stop();
    if (ns) await deleteTestNamespace(ns);
  });

  it('keeps /healthz passing while the API server stalls (the deadline frees the workers), and converges after', async () => {
    const cluster = await getCluster();
    const server = new URL(cluster.kc.getCurrentCluster()!.server);
    proxy = await new TcpProxy(server.hostname, Number(server.port)).start();
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'graminsta-health-')), 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(cluster.kubeconfigPath, 'utf8').replaceAll(server.origin, `https://127.0.0.1:${proxy.port}`));
    op = await startOperatorProcess('operator-health', ns, {
      KUBECONFIG: kubeconfig,
      GRAMINSTA_LEADER_ELECT: 'false',
      GRAMINSTA_RECONCILE_TIMEOUT_SECONDS: '1',
      GRAMINSTA_REQUEST_TIMEOUT_SECONDS: '3600',
    });
    await applyApp(clients, ns, exampleApp('stage-2-split-database.yaml', 'stalled'));
    await waitForCondition(clients, ns, 'stalled', 'Ready', 'True');
    expect((await healthz(op)).status).to.equal(200);

    // Requests already on the wire and new connections are held; the watch streams still deliver events.
    proxy.stall();
    const app = await readApp(clients, ns, 'stalled');
    await applyApp(clients, ns, { ...exampleApp('stage-2-split-database.yaml', 'stalled'), spec: { ...app.spec, users: 100 } });
    const stalledAt = Date.now();
    // Four bounds long: a worker stuck on a stalled request would make /healthz fail within the first.
    const seen: Array<{ status: number; body: string }> = [];
    const aborted = () => op!.logs.join('').split('The user aborted a request').length - 1;
    const abortedBefore = aborted();
    while (Date.now() - stalledAt < 8_000) {
      seen.push(await healthz(op));
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(seen.filter((h) => h.status !== 200), 'unhealthy answers during the stall').to.deep.equal([]);
    expect(aborted() - abortedBefore, 'reconciles cut at their deadline during the stall').to.be.greaterThan(1);

    proxy.resume();
    const after = await waitForCondition(clients, ns, 'stalled', 'Ready', 'True');
    expect(after.status?.stage).to.equal('split-clients');
  });
});
