import { expect } from 'chai';
import { createKubeClients } from '../../../operator/kube/client.kube.js';
import { LeaderElector, type LeaseRecord, type LeaseStore, type VersionedLease } from '../../../operator/kube/leader-election.kube.js';
import { nopLogger } from '../../../operator/kube/logger.kube.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';
import { CuttableLeaseStore, offlineKubeConfig } from './helpers.js';

// An in-memory Lease with the API server's optimistic concurrency: a stale resourceVersion gets 409.
class MemoryLeaseStore implements LeaseStore {
  lease: VersionedLease | undefined;
  writes = 0;
  private rv = 0;
  describe() {
    return 'Lease memory/test';
  }
  async get() {
    return this.lease && structuredClone(this.lease);
  }
  async create(record: LeaseRecord) {
    if (this.lease) throw Object.assign(new Error('AlreadyExists'), { statusCode: 409 });
    return this.write(record);
  }
  async update(record: LeaseRecord, resourceVersion: string) {
    if (!this.lease || this.lease.resourceVersion !== resourceVersion) throw Object.assign(new Error('Conflict'), { statusCode: 409 });
    return this.write(record);
  }
  private write(record: LeaseRecord) {
    this.writes++;
    this.lease = { record: { ...record }, resourceVersion: String(++this.rv) };
    return structuredClone(this.lease);
  }
}

const clients = createKubeClients(offlineKubeConfig());

describe('LeaderElector (timing, in-memory lease)', () => {
  let clock: FakeClock;
  let store: MemoryLeaseStore;
  beforeEach(() => {
    clock = new FakeClock();
    store = new MemoryLeaseStore();
  });

  function candidate(identity: string, leaseStore: LeaseStore = store, opts: { random?: () => number; onStoppedLeading?: () => Promise<void> } = {}) {
    const events: string[] = [];
    const elector = new LeaderElector({
      clients,
      namespace: 'memory',
      name: 'test',
      identity,
      clock,
      logger: nopLogger,
      store: leaseStore,
      random: opts.random ?? (() => 0),
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: () => {
        events.push('stopped');
        return opts.onStoppedLeading?.();
      },
    });
    const abort = new AbortController();
    const done = elector.run(abort.signal);
    return { elector, events, abort, done };
  }

  it('acquires an absent lease at once and renews it every retryPeriod', async () => {
    const a = candidate('a');
    await flushPromises();
    expect(a.elector.isLeader()).to.equal(true);
    expect(a.events).to.deep.equal(['started']);
    expect(store.lease?.record.holderIdentity).to.equal('a');
    const writes = store.writes;
    await clock.advance(2000);
    expect(store.writes).to.equal(writes + 1);
    await clock.advance(6000);
    expect(store.writes).to.equal(writes + 4);
    a.abort.abort();
    await a.done;
  });

  it('lets exactly one of two candidates lead', async () => {
    const a = candidate('a');
    const b = candidate('b');
    await clock.advance(60_000);
    expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).to.have.length(1);
    a.abort.abort();
    b.abort.abort();
    await Promise.all([a.done, b.done]);
  });

  it('on release, the other candidate takes over within one retryPeriod', async () => {
    const a = candidate('a');
    await flushPromises();
    const b = candidate('b');
    await clock.advance(10_000);
    expect(b.elector.isLeader()).to.equal(false);
    const releasedAt = clock.now();
    a.abort.abort();
    await a.done;
    expect(a.events).to.deep.equal(['started', 'stopped']);
    expect(store.lease?.record.holderIdentity).to.equal('');
    while (!b.elector.isLeader()) await clock.advance(100);
    expect(clock.now() - releasedAt).to.be.at.most(2000);
    expect(store.lease?.record.leaseTransitions).to.equal(1);
    b.abort.abort();
    await b.done;
  });

  it('a leader that cannot renew steps down after renewDeadline; the other takes over after leaseDuration of its own observation', async () => {
    const aStore = new CuttableLeaseStore(store);
    const a = candidate('a', aStore);
    await flushPromises();
    const b = candidate('b');
    await clock.advance(4000);
    const cutAt = clock.now();
    aStore.cutOff = true;
    let aSteppedDownAt: number | undefined;
    let bLeadAt: number | undefined;
    for (let t = 0; t < 30_000 && bLeadAt === undefined; t += 100) {
      await clock.advance(100);
      if (aSteppedDownAt === undefined && !a.elector.isLeader()) aSteppedDownAt = clock.now();
      if (b.elector.isLeader()) bLeadAt = clock.now();
    }
    await a.done;
    expect(a.events).to.deep.equal(['started', 'stopped']);
    // the last renew was at most one retryPeriod before the cut; a gives up renewDeadline after its next attempt began
    expect(aSteppedDownAt! - cutAt).to.be.within(10_000, 12_000);
    // b saw the last renewal at most one retryPeriod after it happened, and waits a full leaseDuration from then
    expect(bLeadAt! - cutAt).to.be.within(15_000 - 2000, 15_000 + 2000 + 100);
    expect(aSteppedDownAt!).to.be.below(bLeadAt!);
    b.abort.abort();
    await b.done;
  });

  it('judges expiry by its own observation time, not the holder clock', async () => {
    store.lease = {
      resourceVersion: '100',
      record: { holderIdentity: 'ghost', leaseDurationSeconds: 15, acquireTime: 0, renewTime: 0, leaseTransitions: 3 },
    };
    const b = candidate('b');
    await clock.advance(14_000);
    expect(b.elector.isLeader()).to.equal(false);
    await clock.advance(2000);
    expect(b.elector.isLeader()).to.equal(true);
    expect(store.lease?.record.leaseTransitions).to.equal(4);
    b.abort.abort();
    await b.done;
  });

  it('aborted while an acquisition is in flight: gives the lease back without calling the callbacks', async () => {
    const a = candidate('a');
    a.abort.abort();
    await a.done;
    expect(a.events).to.deep.equal([]);
    expect(a.elector.isLeader()).to.equal(false);
    expect(store.lease?.record.holderIdentity).to.equal('');
  });

  it('on abort, gives the lease back only after onStoppedLeading settled (the workers stopped)', async () => {
    let finishStopping!: () => void;
    const workersStopped = new Promise<void>((resolve) => (finishStopping = resolve));
    const a = candidate('a', store, { onStoppedLeading: () => workersStopped });
    await flushPromises();
    expect(a.elector.isLeader()).to.equal(true);
    a.abort.abort();
    await clock.advance(5_000);
    expect(a.events).to.deep.equal(['started', 'stopped']);
    expect(store.lease?.record.holderIdentity, 'still held while the workers stop').to.equal('a');
    finishStopping();
    await a.done;
    expect(store.lease?.record.holderIdentity).to.equal('');
  });

  it('after losing the lease, run resolves (so the process may campaign again) only once onStoppedLeading settled', async () => {
    let finishStopping!: () => void;
    const workersStopped = new Promise<void>((resolve) => (finishStopping = resolve));
    const aStore = new CuttableLeaseStore(store);
    const a = candidate('a', aStore, { onStoppedLeading: () => workersStopped });
    await flushPromises();
    aStore.cutOff = true;
    let resolved = false;
    void a.done.then(() => (resolved = true));
    await clock.advance(20_000);
    expect(a.elector.isLeader()).to.equal(false);
    expect(resolved).to.equal(false);
    finishStopping();
    await flushPromises();
    expect(resolved).to.equal(true);
  });

  it('judges expiry on the monotonic clock: a step of the wall clock does not expire a lease another holds', async () => {
    const a = candidate('a');
    await flushPromises();
    const b = candidate('b');
    await clock.advance(3_000);
    clock.stepWallClock(3_600_000);
    await clock.advance(3_000);
    expect(a.elector.isLeader()).to.equal(true);
    expect(b.elector.isLeader()).to.equal(false);
    a.abort.abort();
    b.abort.abort();
    await Promise.all([a.done, b.done]);
  });

  it('jitters acquisition retries: retryPeriod * (1 + 1.2 * random)', async () => {
    const a = candidate('a');
    await flushPromises();
    const reads: number[] = [];
    const watching: LeaseStore = {
      describe: () => store.describe(),
      get: () => (reads.push(clock.now()), store.get()),
      create: (r) => store.create(r),
      update: (r, rv) => store.update(r, rv),
    };
    const b = candidate('b', watching, { random: () => 0.5 });
    await clock.advance(10_000);
    const gaps = reads.slice(1).map((t, i) => t - reads[i]!);
    expect(gaps).to.deep.equal([3_200, 3_200, 3_200]);
    a.abort.abort();
    b.abort.abort();
    await Promise.all([a.done, b.done]);
  });

  it('rejects inconsistent timings naming the field', () => {
    const base = { clients, namespace: 'n', name: 'l', identity: 'i', logger: nopLogger, onStartedLeading: () => {}, onStoppedLeading: () => {} };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 5000, renewDeadlineMs: 10_000 })).to.throw(/leaseDurationMs/);
    expect(() => new LeaderElector({ ...base, identity: '' })).to.throw(/identity/);
  });
});
