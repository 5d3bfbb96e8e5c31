// Liveness of the operator: /healthz fails only when a worker is stuck in a way its reconcile deadline
// cannot end (WorkerPool.stuck: still in flight at twice the deadline, i.e. it waits on something the
// deadline's abort does not reach), which only a restart frees. A stalled API server is not such a case:
// the deadline aborts every request of a reconcile, so the workers are freed and a restart would not help.
// The first test stalls the API server behind a TCP proxy (request timeout far beyond the deadline) and
// checks that /healthz keeps passing while reconciles are cut at their deadline; it fails if the deadline
// stops freeing workers. The second holds a worker on a wait that ignores its abort and checks that
// /healthz fails past the bound and passes once the worker is freed; it fails without the health check.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { createKubeClients, type KubeClients } from '../../operator/kube/client.kube.js';
import { nopLogger } from '../../operator/kube/logger.kube.js';
import { STUCK_AFTER_DEADLINES, WorkerPool } from '../../operator/kube/worker-pool.kube.js';
import { startHttpServer } from '../../operator/server.js';
import { freePort } from '../support/local-process.js';
import { createTestNamespace, deleteTestNamespace, getCluster } from '../support/cluster.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { applyApp, exampleApp, readApp, waitForCondition } from '../support/operator.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const healthz = async (p: { port: number }) => {
  const res = await fetch(`http://127.0.0.1:${p.port}/healthz`);
  return { status: res.status, body: await res.text() };
};

describe('the operator process behind a stalled API server', function () {
  this.timeout(300_000);
  let ns: string;
  let clients: KubeClients;
  let proxy: TcpProxy | undefined;
  let op: OperatorProcess | undefined;
  let scratch: string | undefined;

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
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    if (ns) await deleteTestNamespace(ns);
  });

  it('keeps /healthz passing while the API server stalls (the deadline frees the workers), and converges after', async () => {
    const cluster = await getCluster();
    const server = new URL(cluster.kc.getCurrentCluster()!.server);
    proxy = await new TcpProxy(server.hostname, Number(server.port)).start();
    scratch = mkdtempSync(join(tmpdir(), 'graminsta-health-'));
    const kubeconfig = join(scratch, 'kubeconfig');
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

describe('/healthz with a worker its deadline cannot free', function () {
  this.timeout(30_000);
  let server: Server | undefined;
  let pool: WorkerPool | undefined;
  let release: (() => void) | undefined;

  after(async () => {
    release?.();
    await pool?.stop();
    server?.close();
  });

  it('fails past the bound while the worker waits on something its abort does not end, and passes once it is freed', async () => {
    const deadlineMs = 300;
    let aborted = false;
    pool = new WorkerPool({
      name: 'health',
      controller: 'health',
      workers: 1,
      reconcileTimeoutMs: deadlineMs,
      initialKeys: () => ['ns/deaf'],
      logger: nopLogger,
      // Waits for the test, not for its signal: the deadline fires but cannot end it.
      reconcile: (_key, signal) => {
        signal.addEventListener('abort', () => (aborted = true), { once: true });
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    const port = await freePort();
    // The probes main.ts serves.
    server = await startHttpServer({ host: '127.0.0.1', port, registry: new Registry(), probes: { synced: () => true, unhealthy: () => pool!.stuck() } });
    const startedAt = Date.now();
    pool.start();
    expect((await healthz({ port })).status).to.equal(200);

    const bound = STUCK_AFTER_DEADLINES * deadlineMs;
    let first: { status: number; body: string; at: number } | undefined;
    while (!first && Date.now() - startedAt < bound + 5_000) {
      const h = await healthz({ port });
      if (h.status !== 200) first = { ...h, at: Date.now() - startedAt };
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(aborted, 'the deadline fired').to.equal(true);
    expect(first, '/healthz failed').to.not.equal(undefined);
    expect(first!.status).to.equal(500);
    expect(first!.at, 'not before the bound').to.be.greaterThan(bound);
    expect(first!.body).to.contain('past its deadline of 0.3 s');

    release!();
    await new Promise((r) => setTimeout(r, 50));
    expect((await healthz({ port })).status, 'freed').to.equal(200);
  });
});
