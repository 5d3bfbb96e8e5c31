import { expect } from 'chai';
import { nopLogger } from '../../../operator/kube/logger.kube.js';
import { STUCK_AFTER_DEADLINES, WorkerPool } from '../../../operator/kube/worker-pool.kube.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';

// A reconcile that stays in flight until the test releases it (or its signal aborts, when it honours it).
class Reconciles {
  started: string[] = [];
  inFlight = new Map<string, number>();
  maxConcurrentPerKey = 0;
  signals = new Map<string, AbortSignal>();
  private releases = new Map<string, () => void>();
  constructor(private readonly honourSignal = true) {}

  reconcile = async (key: string, signal: AbortSignal): Promise<void> => {
    this.started.push(key);
    this.signals.set(key, signal);
    const n = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, n);
    this.maxConcurrentPerKey = Math.max(this.maxConcurrentPerKey, n);
    try {
      await new Promise<void>((resolve, reject) => {
        this.releases.set(key, resolve);
        if (this.honourSignal) signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    } finally {
      this.inFlight.set(key, this.inFlight.get(key)! - 1);
    }
  };

  release(key: string): void {
    this.releases.get(key)?.();
  }
}

describe('WorkerPool', () => {
  let clock: FakeClock;
  beforeEach(() => {
    clock = new FakeClock();
  });

  function pool(r: Reconciles, keys: string[], opts: { workers?: number; reconcileTimeoutMs?: number } = {}) {
    return new WorkerPool({
      name: 't',
      controller: 't',
      workers: opts.workers ?? 1,
      reconcile: r.reconcile,
      reconcileTimeoutMs: opts.reconcileTimeoutMs ?? 0,
      initialKeys: () => keys,
      logger: nopLogger,
      clock,
    });
  }

  it('on stop cancels the reconciles in flight and hands out none of the queued keys', async () => {
    const r = new Reconciles();
    const p = pool(r, ['a', 'b', 'c']);
    p.start();
    await flushPromises();
    expect(r.started).to.deep.equal(['a']);
    await p.stop();
    expect(r.signals.get('a')!.aborted, 'the in-flight reconcile was cancelled').to.equal(true);
    await flushPromises();
    expect(r.started, 'the backlog of a stopped pool').to.deep.equal(['a']);
  });

  it('starts a new term only after the last term’s workers stopped, so no key runs twice at once', async () => {
    const r = new Reconciles(false); // ignores cancellation: finishes only when released
    const p = pool(r, ['a'], { workers: 4 });
    p.start();
    await flushPromises();
    expect(r.started).to.deep.equal(['a']);
    const stopped = p.stop();
    p.start(); // leadership came back at once
    p.add('a');
    await flushPromises();
    expect(r.started, 'the new term waits for the old one').to.deep.equal(['a']);
    r.release('a');
    await stopped;
    await flushPromises();
    expect(r.started).to.deep.equal(['a', 'a']);
    expect(r.maxConcurrentPerKey).to.equal(1);
    r.release('a');
    await p.stop();
  });

  it('aborts a reconcile at its deadline, and reports how long the oldest one has run', async () => {
    const r = new Reconciles(false);
    const p = pool(r, ['slow'], { reconcileTimeoutMs: 5_000 });
    p.start();
    await flushPromises();
    await clock.advance(4_999);
    expect(r.signals.get('slow')!.aborted).to.equal(false);
    expect(p.longestReconcileMs()).to.equal(4_999);
    await clock.advance(1);
    expect(r.signals.get('slow')!.aborted).to.equal(true);
    expect(String((r.signals.get('slow')!.reason as Error).message)).to.contain('deadline of 5000 ms');
    r.release('slow');
    await flushPromises();
    expect(p.longestReconcileMs()).to.equal(0);
    await p.stop();
  });

  it('reports itself stuck only when a reconcile outlives its deadline by the bound: one that honours the abort never is', async () => {
    const freed = new Reconciles(true);
    const a = pool(freed, ['hung-request'], { reconcileTimeoutMs: 1_000 });
    a.start();
    await flushPromises();
    await clock.advance(1_000);
    await flushPromises();
    expect(freed.signals.get('hung-request')!.aborted).to.equal(true);
    await clock.advance(STUCK_AFTER_DEADLINES * 1_000 + 1);
    expect(a.stuck(), 'the deadline freed the worker').to.equal(undefined);
    await a.stop();

    const deaf = new Reconciles(false); // waits on something its abort does not end
    const b = pool(deaf, ['deaf'], { reconcileTimeoutMs: 1_000 });
    b.start();
    await flushPromises();
    await clock.advance(STUCK_AFTER_DEADLINES * 1_000);
    expect(deaf.signals.get('deaf')!.aborted).to.equal(true);
    expect(b.stuck(), 'at the bound').to.equal(undefined);
    await clock.advance(1);
    expect(b.stuck()).to.match(/a reconcile has run for 2 s, past its deadline of 1 s, whose abort did not free its worker \(bound 2 s\)/);
    deaf.release('deaf');
    await flushPromises();
    expect(b.stuck(), 'released').to.equal(undefined);
    await b.stop();
  });

  it('has no stuck bound without a deadline', async () => {
    const r = new Reconciles(false);
    const p = pool(r, ['slow']);
    p.start();
    await flushPromises();
    await clock.advance(3_600_000);
    expect(p.stuck()).to.equal(undefined);
    r.release('slow');
    await p.stop();
  });

  it('ignores adds while no term runs', async () => {
    const r = new Reconciles();
    const p = pool(r, []);
    p.add('x');
    p.start();
    await flushPromises();
    expect(r.started).to.deep.equal([]);
    p.add('y');
    await flushPromises();
    expect(r.started).to.deep.equal(['y']);
    await p.stop();
  });
});
