// The invalidation channel's message handling, over a recording publisher and a subscriber the test feeds: whose
// invalidations reach the near cache, and when lost messages reset it.
import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { INVALIDATION_CHANNEL, redisInvalidationChannel, type InvalidationChannel, type ResetReason } from '../../../service/cache/invalidation.repository.js';
import type { SubscriberConnection } from '../../../service/cache/cluster-subscriber.infra.js';
import { createLogger } from '../../../service/log.js';

class FakeSubscriber extends EventEmitter implements SubscriberConnection {
  status = 'ready';
  subscribe = async () => 1;
  disconnect(): void {
    this.status = 'end';
  }
  deliver(message: string): void {
    this.emit('message', INVALIDATION_CHANNEL, message);
  }
}

describe('redisInvalidationChannel', () => {
  let published: string[];
  let invalidated: number[];
  let resets: ResetReason[];
  let sub: FakeSubscriber;
  let channel: InvalidationChannel;

  beforeEach(() => {
    published = [];
    invalidated = [];
    resets = [];
    sub = new FakeSubscriber();
    const redis = { isCluster: false, status: 'ready', publish: async (_c: string, m: string) => published.push(m) } as unknown as Redis;
    // No heartbeat during a test: each message is one the test delivers.
    channel = redisInvalidationChannel(redis, sub, { onInvalidate: (id) => invalidated.push(id), onReset: (r) => resets.push(r), heartbeatMs: 3_600_000, log: createLogger('error', {}, () => undefined) });
  });
  afterEach(() => channel.close());

  it("passes on another process's invalidations, not its own coming back (it dropped its copy before publishing)", async () => {
    expect(await channel.publish(7)).to.equal(true);
    sub.deliver(published[0]!);
    sub.deliver('i other 1 8');
    expect(invalidated).to.deep.equal([8]);
    expect(resets).to.deep.equal([]);
  });

  it('still numbers its own messages: one of them missing resets the near cache', async () => {
    for (const id of [1, 2, 3]) await channel.publish(id);
    sub.deliver(published[0]!);
    sub.deliver(published[1]!);
    expect(resets).to.deep.equal([]);
    sub.deliver('i other 1 4');
    sub.deliver('i other 3 5');
    expect(resets).to.deep.equal(['gap']);
    sub.deliver(published[2]!);
    expect(invalidated).to.deep.equal([4, 5]);
  });

  it('ignores messages of another channel and malformed ones', () => {
    sub.emit('message', 'elsewhere', 'i other 1 9');
    for (const m of ['', 'x other 1 9', 'i', 'i other nan 9', 'i other 1 nan']) sub.deliver(m);
    expect(invalidated).to.deep.equal([]);
  });
});
