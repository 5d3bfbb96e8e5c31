import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { createHashLimiter, defaultHashConcurrency } from '../../../service/auth/hash-limiter.js';
import { AppError } from '../../../service/errors.js';

use(chaiAsPromised);

/** A task that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((resolve) => (open = resolve));
  return { p, open };
}

describe('hash limiter', () => {
  it('runs at most `concurrency` tasks at once and starts the queued ones in order', async () => {
    const limiter = createHashLimiter({ concurrency: 2, queue: 10 });
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) => limiter.run(async () => {
      started.push(i);
      await g.p;
      return i;
    }));
    await Promise.resolve();
    expect(started).to.deep.equal([0, 1]);
    expect(limiter.stats()).to.include({ inFlight: 2, queued: 2, maxInFlight: 2 });
    gates[1]!.open();
    await runs[1];
    expect(started).to.deep.equal([0, 1, 2]);
    for (const g of gates) g.open();
    expect(await Promise.all(runs)).to.deep.equal([0, 1, 2, 3]);
    expect(limiter.stats()).to.deep.equal({ inFlight: 0, queued: 0, maxInFlight: 2, rejected: 0 });
  });

  it('answers server_busy at once when the queue is full, and frees the slot of a task that throws', async () => {
    const limiter = createHashLimiter({ concurrency: 1, queue: 1 });
    const g = gate();
    const first = limiter.run(() => g.p);
    const second = limiter.run(async () => {
      throw new Error('boom');
    });
    const err = await limiter.run(async () => 'never').catch((e: unknown) => e);
    expect(err).to.be.instanceOf(AppError).with.property('code', 'server_busy');
    g.open();
    await first;
    await expect(second).to.be.rejectedWith('boom');
    expect(await limiter.run(async () => 'after')).to.equal('after');
    expect(limiter.stats()).to.include({ inFlight: 0, rejected: 1 });
  });

  it('leaves two libuv threads to other work by default, and at least one slot', () => {
    expect(defaultHashConcurrency(4)).to.equal(2);
    expect(defaultHashConcurrency(16)).to.equal(14);
    expect(defaultHashConcurrency(1)).to.equal(1);
  });
});
