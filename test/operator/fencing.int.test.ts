// Leader fencing under partitions: two operator processes, each reaching the API server through a TCP
// proxy that the test stalls to depose the current leader, many times over. The API server's audit log
// then shows that every write of a replica fell inside its own leadership term (as the Lease writes in
// the same log delimit them), so the writes of the two never overlapped and a deposed leader wrote
// nothing after another took over.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClients, type KubeClients } from '../../operator/kube/client.kube.js';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor } from '../support/cluster.js';
import { scrapeMetrics, startOperatorProcess, sumMetric, type OperatorProcess } from '../support/operator-process.js';
import { applyApp, exampleApp, waitForCondition } from '../support/operator.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const ROUNDS = 8;
const APPS = 3;

interface AuditWrite {
  identity: string;
  verb: string;
  what: string;
  lease: boolean;
  code: number;
  /** Microseconds since the epoch. */
  received: number;
  completed: number;
}

// RFC 3339 with microseconds, as the audit log writes them, to microseconds since the epoch.
function micros(ts: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(ts);
  if (!m) throw new Error(`not an audit timestamp: ${ts}`);
  return Date.parse(`${m[1]}Z`) * 1000 + Number((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

/** The operators' writes in namespace (Lease writes included), by the time the API server received them. */
function operatorWrites(auditLog: string, namespace: string): AuditWrite[] {
  const writes: AuditWrite[] = [];
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (!line.includes(namespace) || !line.includes('graminsta-operator/')) continue;
    const e = JSON.parse(line) as {
      stage: string;
      verb: string;
      userAgent?: string;
      objectRef?: { namespace?: string; resource?: string; name?: string; subresource?: string };
      responseStatus?: { code?: number };
      requestReceivedTimestamp: string;
      stageTimestamp: string;
    };
    const identity = /^graminsta-operator\/\S+ \(([^)]+)\)/.exec(e.userAgent ?? '')?.[1];
    if (!identity || e.stage !== 'ResponseComplete' || e.objectRef?.namespace !== namespace) continue;
    writes.push({
      identity,
      verb: e.verb,
      what: `${e.objectRef.resource}${e.objectRef.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef.name ?? ''}`,
      lease: e.objectRef.resource === 'leases',
      code: e.responseStatus?.code ?? 0,
      received: micros(e.requestReceivedTimestamp),
      completed: micros(e.stageTimestamp),
    });
  }
  return writes.sort((a, b) => a.received - b.received);
}

/** Leadership terms from the successful Lease writes: a term starts with a holder's first write after another's. */
function terms(writes: AuditWrite[]): Array<{ identity: string; from: number; until: number }> {
  const leaseWrites = writes.filter((w) => w.lease && w.code >= 200 && w.code < 300);
  const out: Array<{ identity: string; from: number; until: number }> = [];
  for (const w of leaseWrites) {
    const last = out.at(-1);
    if (last?.identity === w.identity) continue;
    if (last) last.until = w.received;
    out.push({ identity: w.identity, from: w.received, until: Infinity });
  }
  return out;
}

/**
 * Writes that break fencing: received before the writer's term began, still in flight when another
 * replica's term began, or in flight together with another replica's write.
 */
function fencingViolations(writes: AuditWrite[]): string[] {
  const found: string[] = [];
  const allTerms = terms(writes);
  const objectWrites = writes.filter((w) => !w.lease);
  for (const w of objectWrites) {
    const term = allTerms.find((t) => t.identity === w.identity && t.from <= w.received && w.completed <= t.until);
    if (!term) found.push(`${w.identity} ${w.verb} ${w.what} [${w.received}, ${w.completed}] falls outside its leadership terms`);
  }
  const last = new Map<string, AuditWrite>(); // per identity: its write that completed last so far
  for (const w of objectWrites) {
    for (const [identity, other] of last) {
      if (identity !== w.identity && other.completed >= w.received) {
        found.push(`${other.identity} ${other.verb} ${other.what} (until ${other.completed}) overlaps ${w.identity} ${w.verb} ${w.what} (from ${w.received})`);
      }
    }
    const prev = last.get(w.identity);
    if (!prev || w.completed > prev.completed) last.set(w.identity, w);
  }
  return found;
}

describe('leader fencing under partitions (real API server, audit log)', function () {
  this.timeout(180_000);
  let ns: string;
  let clients: KubeClients;
  const procs: OperatorProcess[] = [];
  const proxies = new Map<string, TcpProxy>();
  const scratch: string[] = [];

  before(async function () {
    const cluster = await getCluster();
    if (!cluster.auditLogPath) {
      console.log('      skipped: needs the local control plane with its audit log (hack/cluster-up.sh, GRAMINSTA_AUDIT_LOG not 0)');
      this.skip();
    }
    clients = createKubeClients(cluster.kc);
    ns = await createTestNamespace('fencing');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      for (const p of procs) console.error(`--- logs of ${p.name} ---\n${p.logs.join('').slice(-6000)}`);
    }
  });

  after(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    for (const proxy of proxies.values()) await proxy.stop();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
    if (ns) await deleteTestNamespace(ns);
  });

  async function startBehindProxy(name: string): Promise<OperatorProcess> {
    const cluster = await getCluster();
    const server = new URL(cluster.kc.getCurrentCluster()!.server);
    const proxy = await new TcpProxy(server.hostname, Number(server.port)).start();
    proxies.set(name, proxy);
    const dir = mkdtempSync(join(tmpdir(), 'graminsta-fencing-'));
    scratch.push(dir);
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(cluster.kubeconfigPath, 'utf8').replaceAll(server.origin, `https://127.0.0.1:${proxy.port}`));
    const p = await startOperatorProcess(name, ns, {
      KUBECONFIG: kubeconfig,
      // The leader steps down at most retry + renewDeadline = 3 s after its last renewal; the other
      // takes over at least leaseDuration = 4 s after it saw that renewal.
      GRAMINSTA_LEASE_DURATION_SECONDS: '4',
      GRAMINSTA_RENEW_DEADLINE_SECONDS: '2',
      GRAMINSTA_RETRY_PERIOD_SECONDS: '1',
      GRAMINSTA_REQUEST_TIMEOUT_SECONDS: '2',
    });
    procs.push(p);
    return p;
  }

  const leads = async (p: OperatorProcess) => sumMetric(await scrapeMetrics(p), 'leader_election_master_status') === 1;
  const services = async () =>
    (await clients.core.listNamespacedService({ namespace: ns, labelSelector: 'app.kubernetes.io/managed-by=graminsta-operator' })).items.length;

  it('never lets the writes of two replicas overlap while leadership flaps', async () => {
    const cluster = await getCluster();
    const a = await startBehindProxy('fence-a');
    const b = await startBehindProxy('fence-b');
    for (let i = 0; i < APPS; i++) await applyApp(clients, ns, exampleApp('stage-1-single-machine.yaml', `fenced-${i}`));
    for (let i = 0; i < APPS; i++) await waitForCondition(clients, ns, `fenced-${i}`, 'Ready', 'True');
    const wanted = await services();

    const started = Date.now();
    let transitions = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let leader: OperatorProcess | undefined;
      await waitFor('exactly one leader', 30_000, async () => {
        const [la, lb] = [await leads(a), await leads(b)];
        leader = la !== lb ? (la ? a : b) : undefined;
        return leader !== undefined;
      });
      const deposed = leader!;
      const next = deposed === a ? b : a;
      // Partition the leader from the API server (it still hears watch events), then give it work:
      // it tries to restore the deleted Services, and those requests are held in its proxy.
      proxies.get(deposed.name)!.stall();
      await cluster.kubectl(['delete', 'service', '-n', ns, '-l', 'app.kubernetes.io/managed-by=graminsta-operator', '--wait=false']);
      await waitFor(`${next.name} to take over`, 30_000, () => leads(next));
      transitions++;
      await waitFor(`${next.name} to restore the Services`, 30_000, async () => (await services()) === wanted);
      proxies.get(deposed.name)!.resume();
      await waitFor(`${deposed.name} to notice it no longer leads`, 30_000, async () => !(await leads(deposed)));
    }
    const flapping = Date.now() - started;

    for (const p of procs) p.child.kill('SIGTERM');
    await waitFor('both processes to exit', 20_000, () => procs.every((p) => p.child.exitCode !== null));
    const audited = operatorWrites(cluster.auditLogPath!, ns);
    const writes = audited.filter((w) => !w.lease);
    const byIdentity = (id: string) => writes.filter((w) => w.identity === id).length;
    console.log(
      `      ${transitions} leader changes in ${(flapping / 1000).toFixed(1)} s; ${terms(audited).length} terms in the audit log; writes: fence-a ${byIdentity('fence-a')}, fence-b ${byIdentity('fence-b')}`,
    );
    expect(transitions).to.equal(ROUNDS);
    expect(byIdentity('fence-a'), 'writes by fence-a').to.be.greaterThan(0);
    expect(byIdentity('fence-b'), 'writes by fence-b').to.be.greaterThan(0);
    let runs = 1;
    for (let i = 1; i < writes.length; i++) if (writes[i]!.identity !== writes[i - 1]!.identity) runs++;
    expect(runs, 'leadership terms that wrote').to.be.at.least(ROUNDS);
    expect(terms(audited).length, 'leadership terms in the audit log').to.be.at.least(ROUNDS + 1);
    expect(fencingViolations(audited)).to.deep.equal([]);
  });
});
