import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { Registry } from 'prom-client';
import { TerminalError } from '../../../operator/kube/errors.kube.js';
import { nopLogger } from '../../../operator/kube/logger.kube.js';
import { createMetrics, type Metrics } from '../../../operator/kube/metrics.kube.js';
import { RateLimiter, WorkQueue, runWorkers, type ReconcileResult, type RunWorkersOptions } from '../../../operator/kube/workqueue.kube.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';

use(chaiAsPromised);

async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const data = await metric.get();
  const sample = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val) && !('le' in v.labels));
  return sample?.value;
}

describe('WorkQueue', () => {
  let clock: FakeClock;
  beforeEach(() => {
    clock = new FakeClock();
  });

  it('queues a key once however often it is added', async () => {
    const q = new WorkQueue({ name: 't', clock });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).to.equal(2);
    expect(await q.get()).to.equal('a');
    expect(await q.get()).to.equal('b');
    expect(q.len()).to.equal(0);
  });

  it('does not hand a key to a second worker while it is processed, and re-queues it on done when it was added meanwhile', async () => {
    const q = new WorkQueue({ name: 't', clock });
    q.add('a');
    const key = await q.get();
    q.add('a');
    expect(q.len()).to.equal(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await flushPromises();
    expect(second).to.equal(undefined);
    q.done(key!);
    await flushPromises();
    expect(second).to.equal('a');
  });

  it('does not re-queue a processed key that was not added again', async () => {
    const q = new WorkQueue({ name: 't', clock });
    q.add('a');
    q.done((await q.get())!);
    expect(q.len()).to.equal(0);
  });

  it('wakes a waiting get when a key arrives', async () => {
    const q = new WorkQueue({ name: 't', clock });
    const pending = q.get();
    q.add('x');
    expect(await pending).to.equal('x');
  });

  it('addAfter queues the key only when the delay has passed', async () => {
    const q = new WorkQueue({ name: 't', clock });
    q.addAfter('a', 1000);
    await clock.advance(999);
    expect(q.len()).to.equal(0);
    await clock.advance(1);
    expect(q.len()).to.equal(1);
  });

  it('addAfter keeps the earliest deadline for a key', async () => {
    const q = new WorkQueue({ name: 't', clock });
    q.addAfter('a', 5000);
    q.addAfter('a', 1000);
    q.addAfter('a', 3000);
    await clock.advance(1000);
    expect(q.len()).to.equal(1);
    expect(await q.get()).to.equal('a');
    q.done('a');
    await clock.advance(10_000);
    expect(q.len()).to.equal(0);
  });

  it('addAfter with a zero or negative delay adds at once', () => {
    const q = new WorkQueue({ name: 't', clock });
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.len()).to.equal(2);
  });

  it('releases several delayed keys in deadline order', async () => {
    const q = new WorkQueue({ name: 't', clock });
    q.addAfter('late', 300);
    q.addAfter('early', 100);
    q.addAfter('mid', 200);
    await clock.advance(300);
    expect([await q.get(), await q.get(), await q.get()]).to.deep.equal(['early', 'mid', 'late']);
  });

  it('backs off per key exponentially from baseDelay, capped at maxDelay, and forget resets it', async () => {
    const q = new WorkQueue({ name: 't', clock, baseDelayMs: 10, maxDelayMs: 50, qps: 1000, burst: 1000 });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = clock.now();
      q.addRateLimited('a');
      while (q.len() === 0) await clock.advance(1);
      delays.push(clock.now() - start);
      q.done((await q.get())!);
    }
    expect(delays).to.deep.equal([10, 20, 40, 50, 50]);
    expect(q.numRequeues('a')).to.equal(5);
    q.forget('a');
    expect(q.numRequeues('a')).to.equal(0);
  });

  it('keeps backoff separate per key', () => {
    const limiter = new RateLimiter(clock, 5, 1_000_000, 1e9, 1e9);
    expect(limiter.when('a')).to.equal(5);
    expect(limiter.when('a')).to.equal(10);
    expect(limiter.when('b')).to.equal(5);
  });

  it('uses the token bucket when it is slower than the per-key backoff (defaults: 10 qps, burst 100)', () => {
    const limiter = new RateLimiter(clock, 5, 1_000_000, 10, 100);
    const delays = Array.from({ length: 102 }, (_, i) => limiter.when(`k${i}`));
    expect(delays.slice(0, 100).every((d) => d === 5)).to.equal(true);
    expect(delays[100]).to.be.closeTo(100, 1e-9);
    expect(delays[101]).to.be.closeTo(200, 1e-9);
  });

  it('refills the token bucket over time', async () => {
    const limiter = new RateLimiter(clock, 1, 1_000_000, 10, 1);
    expect(limiter.when('a')).to.equal(1);
    expect(limiter.when('b')).to.be.closeTo(100, 1e-9);
    await clock.advance(1000);
    expect(limiter.when('c')).to.equal(1);
  });

  it('ignores adds after shutDown but hands out what is queued, then undefined', async () => {
    const q = new WorkQueue({ name: 't', clock });
    q.add('a');
    q.shutDown();
    q.add('b');
    q.addAfter('c', 10);
    q.addRateLimited('d');
    expect(await q.get()).to.equal('a');
    expect(await q.get()).to.equal(undefined);
    expect(clock.pending()).to.equal(0);
  });

  it('shutDown wakes waiting getters with undefined', async () => {
    const q = new WorkQueue({ name: 't', clock });
    const waiting = [q.get(), q.get()];
    q.shutDown();
    expect(await Promise.all(waiting)).to.deep.equal([undefined, undefined]);
  });

  it('drops delayed keys on shutDown', async () => {
    const q = new WorkQueue({ name: 't', clock });
    q.addAfter('a', 100);
    q.shutDown();
    await clock.advance(200);
    expect(q.len()).to.equal(0);
  });

  it('shutDownWithDrain resolves only after in-flight keys are done', async () => {
    const q = new WorkQueue({ name: 't', clock });
    q.add('a');
    const key = await q.get();
    let drained = false;
    void q.shutDownWithDrain().then(() => (drained = true));
    await flushPromises();
    expect(drained).to.equal(false);
    q.done(key!);
    await flushPromises();
    expect(drained).to.equal(true);
  });

  it('rejects a bad option with the field name', () => {
    expect(() => new WorkQueue({ name: 't', qps: 0 })).to.throw(/qps/);
    expect(() => new WorkQueue({ name: 't', baseDelayMs: Number.NaN })).to.throw(/baseDelayMs/);
    expect(() => new WorkQueue({ name: '' })).to.throw(/name/);
  });

  it('records depth, adds, retries and durations', async () => {
    const metrics = createMetrics(new Registry());
    const q = new WorkQueue({ name: 'apps', clock, metrics });
    q.add('a');
    q.add('a');
    q.add('b');
    expect(await metricValue(metrics, 'workqueue_depth', { name: 'apps' })).to.equal(2);
    expect(await metricValue(metrics, 'workqueue_adds_total', { name: 'apps' })).to.equal(2);
    await clock.advance(2000);
    const key = await q.get();
    expect(await metricValue(metrics, 'workqueue_depth', { name: 'apps' })).to.equal(1);
    await clock.advance(3000);
    expect(await metricValue(metrics, 'workqueue_longest_running_processor_seconds', { name: 'apps' })).to.equal(3);
    expect(await metricValue(metrics, 'workqueue_unfinished_work_seconds', { name: 'apps' })).to.equal(3);
    q.done(key!);
    q.addRateLimited('c');
    expect(await metricValue(metrics, 'workqueue_retries_total', { name: 'apps' })).to.equal(1);
    const text = await metrics.registry.metrics();
    expect(text).to.match(/workqueue_queue_duration_seconds_sum\{name="apps"\} 2\b/);
    expect(text).to.match(/workqueue_work_duration_seconds_sum\{name="apps"\} 3\b/);
  });
});

describe('runWorkers', () => {
  let clock: FakeClock;
  let metrics: Metrics;
  beforeEach(() => {
    clock = new FakeClock();
    metrics = createMetrics(new Registry());
  });

  /** Runs `workers` workers for controller 'c' with the test's metrics. */
  const work = (q: WorkQueue, reconcile: RunWorkersOptions['reconcile'], workers = 1) => runWorkers(q, { workers, controller: 'c', logger: nopLogger, metrics, reconcile });

  it('reconciles every key, then resolves once the queue shuts down', async () => {
    const q = new WorkQueue({ name: 'c', clock, metrics });
    const seen: string[] = [];
    const running = work(q, async (key) => {
      seen.push(key);
    }, 2);
    q.add('a');
    q.add('b');
    q.add('c');
    await flushPromises();
    q.shutDown();
    await running;
    expect(seen.sort()).to.deep.equal(['a', 'b', 'c']);
    expect(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'c', result: 'success' })).to.equal(3);
    expect(await metricValue(metrics, 'controller_runtime_max_concurrent_reconciles', { controller: 'c' })).to.equal(2);
    expect(await metricValue(metrics, 'controller_runtime_active_workers', { controller: 'c' })).to.equal(0);
  });

  it('never runs one key in two workers at once, and runs it again when it was added during processing', async () => {
    const q = new WorkQueue({ name: 'c', clock });
    let concurrent = 0;
    let maxConcurrent = 0;
    let calls = 0;
    const release: Array<() => void> = [];
    const running = runWorkers(q, {
      workers: 4,
      controller: 'c',
      logger: nopLogger,
      reconcile: async () => {
        calls++;
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await new Promise<void>((resolve) => release.push(resolve));
        concurrent--;
      },
    });
    q.add('a');
    await flushPromises();
    q.add('a');
    q.add('a');
    await flushPromises();
    expect(calls).to.equal(1);
    release.shift()!();
    await flushPromises();
    expect(calls).to.equal(2);
    release.shift()!();
    await flushPromises();
    q.shutDown();
    await running;
    expect(maxConcurrent).to.equal(1);
    expect(calls).to.equal(2);
  });

  it('retries a failing key with backoff and counts the errors', async () => {
    const q = new WorkQueue({ name: 'c', clock, metrics, baseDelayMs: 100 });
    let attempts = 0;
    const running = work(q, async () => {
      attempts++;
      if (attempts < 3) throw new Error('boom');
    });
    q.add('a');
    await flushPromises();
    expect(attempts).to.equal(1);
    await clock.advance(99);
    expect(attempts).to.equal(1);
    await clock.advance(1);
    expect(attempts).to.equal(2);
    await clock.advance(199);
    expect(attempts).to.equal(2);
    await clock.advance(1);
    expect(attempts).to.equal(3);
    expect(q.numRequeues('a')).to.equal(0);
    q.shutDown();
    await running;
    expect(await metricValue(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'c' })).to.equal(2);
    expect(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'c', result: 'error' })).to.equal(2);
    expect(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'c', result: 'success' })).to.equal(1);
  });

  it('does not retry a TerminalError (also when wrapped as a cause) and counts it as terminal', async () => {
    const q = new WorkQueue({ name: 'c', clock, metrics });
    let attempts = 0;
    const running = work(q, async (key) => {
      attempts++;
      if (key === 'wrapped') throw new Error('while reconciling', { cause: new TerminalError('bad spec') });
      throw new TerminalError('bad spec');
    });
    q.add('a');
    q.add('wrapped');
    await clock.advance(60_000);
    q.shutDown();
    await running;
    expect(attempts).to.equal(2);
    expect(q.numRequeues('a')).to.equal(0);
    expect(await metricValue(metrics, 'controller_runtime_terminal_reconcile_errors_total', { controller: 'c' })).to.equal(2);
  });

  it('schedules requeueAfterMs and resets backoff', async () => {
    const q = new WorkQueue({ name: 'c', clock, metrics });
    const times: number[] = [];
    const results: ReconcileResult[] = [{ requeueAfterMs: 30_000 }, undefined];
    const running = work(q, async () => {
      times.push(clock.now());
      return results.shift();
    });
    const start = clock.now();
    q.add('a');
    await clock.advance(29_999);
    expect(times.length).to.equal(1);
    await clock.advance(1);
    expect(times.map((t) => t - start)).to.deep.equal([0, 30_000]);
    q.shutDown();
    await running;
    expect(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'c', result: 'requeue_after' })).to.equal(1);
  });

  it('requeue: true retries with backoff', async () => {
    const q = new WorkQueue({ name: 'c', clock, metrics, baseDelayMs: 50 });
    let attempts = 0;
    const running = work(q, async () => {
      attempts++;
      return attempts === 1 ? { requeue: true } : undefined;
    });
    q.add('a');
    await clock.advance(50);
    expect(attempts).to.equal(2);
    q.shutDown();
    await running;
    expect(await metricValue(metrics, 'controller_runtime_reconcile_total', { controller: 'c', result: 'requeue' })).to.equal(1);
  });

  it('measures reconcile time', async () => {
    const q = new WorkQueue({ name: 'c', clock, metrics });
    const running = work(q, async () => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 1500));
    });
    q.add('a');
    await clock.advance(1500);
    q.shutDown();
    await running;
    expect(await metrics.registry.metrics()).to.match(/controller_runtime_reconcile_time_seconds_sum\{controller="c"\} 1\.5\b/);
  });

  it('rejects a bad worker count', async () => {
    const q = new WorkQueue({ name: 'c', clock });
    await expect(runWorkers(q, { workers: 0, controller: 'c', logger: nopLogger, reconcile: async () => undefined })).to.be.rejectedWith(/workers/);
  });
});
