import { expect } from 'chai';
import { createKubeClients, type KubeClients } from '../../../operator/kube/client.kube.js';
import { ACQUIRE_JITTER_FACTOR, LeaderElector, createLeaseStore } from '../../../operator/kube/leader-election.kube.js';
import { createLogger } from '../../../operator/kube/logger.kube.js';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor } from '../../support/cluster.js';
import { CuttableLeaseStore } from './helpers.js';

const logger = createLogger({ level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'error', stream: process.stderr });
const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };

describe('LeaderElector against the real API server', function () {
  this.timeout(300_000);
  let clients: KubeClients;
  let namespace: string;

  before(async () => {
    const cluster = await getCluster();
    clients = createKubeClients(cluster.kc);
    namespace = await createTestNamespace('kube-leader');
  });
  after(async () => {
    if (namespace) await deleteTestNamespace(namespace);
  });

  function candidates(leaseName: string) {
    return ['replica-a', 'replica-b'].map((identity) => {
      const store = new CuttableLeaseStore(createLeaseStore(clients, namespace, leaseName));
      const events: string[] = [];
      const abort = new AbortController();
      const elector = new LeaderElector({
        clients,
        namespace,
        name: leaseName,
        identity,
        ...timing,
        logger: logger.child({ identity }),
        store,
        onStartedLeading: () => events.push('started'),
        onStoppedLeading: () => void events.push('stopped'),
      });
      const done = elector.run(abort.signal);
      return { identity, elector, events, abort, done, store };
    });
  }

  async function holder(leaseName: string): Promise<string | undefined> {
    const lease = await clients.coordination.readNamespacedLease({ name: leaseName, namespace });
    return lease.spec?.holderIdentity;
  }

  it('exactly one leads; after the leader releases, the other takes over well within leaseDuration', async () => {
    const all = candidates('release');
    await waitFor('a leader', 10_000, () => all.some((c) => c.elector.isLeader()));
    await new Promise((r) => setTimeout(r, 2 * timing.leaseDurationMs));
    const leaders = all.filter((c) => c.elector.isLeader());
    expect(leaders).to.have.length(1);
    const [leader] = leaders;
    const follower = all.find((c) => c !== leader)!;
    expect(await holder('release')).to.equal(leader!.identity);
    expect(follower.events).to.deep.equal([]);

    const t0 = Date.now();
    leader!.abort.abort();
    await leader!.done;
    await waitFor('the follower to lead', timing.leaseDurationMs, () => follower.elector.isLeader(), 50);
    const takeover = Date.now() - t0;
    console.log(`      takeover after release: ${takeover} ms`);
    expect(takeover).to.be.below(timing.leaseDurationMs);
    expect(await holder('release')).to.equal(follower.identity);
    expect(leader!.events).to.deep.equal(['started', 'stopped']);
    follower.abort.abort();
    await follower.done;
    expect(await holder('release')).to.equal('');
  });

  it('when the leader stops renewing, it steps down and the other takes over after the lease expires', async () => {
    const all = candidates('crash');
    await waitFor('a leader', 10_000, () => all.some((c) => c.elector.isLeader()));
    const leader = all.find((c) => c.elector.isLeader())!;
    const follower = all.find((c) => c !== leader)!;

    const t0 = Date.now();
    leader.store.cutOff = true;
    // The follower sees the last renewal up to one jittered retry late, counts the lease from then, and tries again up
    // to one jittered retry after it expired: lease + 2 x retry x (1 + jitter), and a second for the API calls.
    const worstRetryMs = timing.retryPeriodMs * (1 + ACQUIRE_JITTER_FACTOR);
    await waitFor('the follower to lead', timing.leaseDurationMs + 2 * worstRetryMs + 1000, () => follower.elector.isLeader(), 50);
    const takeover = Date.now() - t0;
    console.log(`      takeover after the leader stopped renewing: ${takeover} ms`);
    expect(leader.elector.isLeader()).to.equal(false);
    expect(leader.events).to.deep.equal(['started', 'stopped']);
    expect(await holder('crash')).to.equal(follower.identity);
    await leader.done;
    follower.abort.abort();
    await follower.done;
  });
});
