// The Redis window counter against a real redis-server: shared between limiter instances (pods), and falling back to
// in-process counts, with the error counted, while Redis is down.
import { expect } from 'chai';
import { createRedis } from '../../../service/cache/redis.infra.js';
import { createLogger } from '../../../service/log.js';
import { createMetrics } from '../../../service/metrics.js';
import { redisWindowCounter } from '../../../service/ratelimit/window.repository.js';
import { startRedis, type RedisDeployment } from '../../support/redis.js';

describe('redisWindowCounter (real Redis)', function () {
  this.timeout(60000);
  let redis: RedisDeployment;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  // Commands fail at once while disconnected (no offline queue), so wait until the client is ready.
  const connect = async () => {
    const [host, port] = redis.nodes[0]!.split(':');
    const client = createRedis({ mode: 'standalone', nodes: [{ host: host!, port: Number(port) }], password: '' }, createLogger('error'));
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    return client;
  };

  it('shares one count between two instances and expires the key with its window', async () => {
    const [a, b] = [await connect(), await connect()];
    try {
      const [ma, mb] = [createMetrics(), createMetrics()];
      const [ca, cb] = [redisWindowCounter(a, ma), redisWindowCounter(b, mb)];
      const now = Date.now();
      expect(await ca.hit('ratelimit:t:shared:1', now + 2000, now)).to.equal(1);
      expect(await cb.hit('ratelimit:t:shared:1', now + 2000, now)).to.equal(2);
      expect(await ca.hit('ratelimit:t:shared:1', now + 2000, now)).to.equal(3);
      const ttl = await a.pttl('ratelimit:t:shared:1');
      expect(ttl).to.be.within(1, 7000);
      expect(await ma.registry.getSingleMetricAsString('graminsta_ratelimit_store_errors_total')).to.match(/ 0$/m);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('counts in process while Redis is down, and counts the errors', async () => {
    const client = await connect();
    try {
      const metrics = createMetrics();
      const counter = redisWindowCounter(client, metrics);
      await redis.kill();
      const now = Date.now();
      const counts = [];
      for (let i = 0; i < 3; i++) counts.push(await counter.hit('ratelimit:t:down:1', now + 60000, now));
      expect(counts).to.deep.equal([1, 2, 3]);
      expect(await metrics.registry.getSingleMetricAsString('graminsta_ratelimit_store_errors_total')).to.match(/ 3$/m);
    } finally {
      client.disconnect();
      await redis.restart();
    }
  });
});
