// The operator as a process, as it runs in a cluster: two replicas with leader election (only the
// leader writes, the other takes over when the leader dies), and recovery from an API server restart.
import { expect } from 'chai';
import { createKubeClients, type KubeClients } from '../../operator/kube/client.kube.js';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor } from '../support/cluster.js';
import { scrapeMetrics, startOperatorProcess, sumMetric, type OperatorProcess } from '../support/operator-process.js';
import { applyApp, exampleApp, readApp, waitForCondition } from '../support/operator.js';

const isLeader = async (p: OperatorProcess) => sumMetric(await scrapeMetrics(p), 'leader_election_master_status') === 1;
const writes = async (p: OperatorProcess) => sumMetric(await scrapeMetrics(p), 'rest_client_requests_total', (l) => !l.includes('method="GET"'));

describe('the operator process (real API server)', function () {
  this.timeout(300_000);
  let ns: string;
  let clients: KubeClients;
  const procs: OperatorProcess[] = [];

  async function startProcess(name: string): Promise<OperatorProcess> {
    const p = await startOperatorProcess(name, ns, {
      GRAMINSTA_LEASE_DURATION_SECONDS: '6',
      GRAMINSTA_RENEW_DEADLINE_SECONDS: '4',
      GRAMINSTA_RETRY_PERIOD_SECONDS: '1',
      GRAMINSTA_RESYNC_SECONDS: '10',
    });
    procs.push(p);
    return p;
  }

  before(async () => {
    const cluster = await getCluster();
    clients = createKubeClients(cluster.kc);
    ns = await createTestNamespace('process');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      for (const p of procs) console.error(`--- logs of ${p.name} ---\n${p.logs.join('').slice(-4000)}`);
    }
  });

  after(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    if (ns) await deleteTestNamespace(ns);
  });

  it('runs two replicas of which only the leader writes, and fails over when the leader dies', async () => {
    const a = await startProcess('operator-a');
    const b = await startProcess('operator-b');
    await waitFor('one leader', 30_000, async () => (await isLeader(a)) !== (await isLeader(b)));
    const [leader, follower] = (await isLeader(a)) ? [a, b] : [b, a];

    await applyApp(clients, ns, exampleApp('stage-3-split-clients.yaml', 'ha'));
    await waitForCondition(clients, ns, 'ha', 'Ready', 'True');
    expect(await writes(leader)).to.be.greaterThan(0);
    expect(await writes(follower), 'writes by the follower').to.equal(0);
    expect(sumMetric(await scrapeMetrics(follower), 'controller_runtime_reconcile_total'), 'reconciles by the follower').to.equal(0);

    leader.child.kill('SIGKILL'); // no chance to release the Lease: the follower must wait for it to expire
    const killedAt = Date.now();
    await waitFor('the follower to take over', 30_000, () => isLeader(follower));
    const takeover = Date.now() - killedAt;
    expect(takeover).to.be.lessThan(15_000);

    const app = await readApp(clients, ns, 'ha');
    await applyApp(clients, ns, { ...exampleApp('stage-3-split-clients.yaml', 'ha'), spec: { ...app.spec, users: 1000 } });
    const after = await waitForCondition(clients, ns, 'ha', 'Ready', 'True');
    expect(after.status?.stage).to.equal('load-balanced');
    follower.child.kill('SIGTERM');
    await waitFor('graceful exit', 15_000, () => follower.child.exitCode !== null);
    expect(follower.child.exitCode).to.equal(0);
  });

  it('recovers by itself when the API server restarts under its watches', async function () {
    const cluster = await getCluster();
    if (!cluster.local) {
      console.log('      skipped: restarting kube-apiserver needs the local control plane (KUBECONFIG points elsewhere)');
      this.skip();
    }
    const p = await startProcess('operator-c');
    await waitFor('leadership', 30_000, () => isLeader(p));
    await applyApp(clients, ns, exampleApp('stage-2-split-database.yaml', 'restart'));
    await waitForCondition(clients, ns, 'restart', 'Ready', 'True');

    await cluster.restartApiServer();
    expect(p.child.exitCode, 'the operator process is still running').to.equal(null);

    // A change made after the restart reaches the operator through its re-established watches.
    await applyApp(clients, ns, { ...exampleApp('stage-2-split-database.yaml', 'restart'), spec: { users: 100 } });
    const app = await waitForCondition(clients, ns, 'restart', 'Ready', 'True', { timeoutMs: 120_000 });
    expect(app.status?.stage).to.equal('split-clients');
    expect(p.child.exitCode).to.equal(null);
  });
});
