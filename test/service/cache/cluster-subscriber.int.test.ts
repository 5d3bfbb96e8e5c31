// RotatingSubscriber against a real three-node Redis Cluster: it finds a live node past a dead one, receives what is
// published through the cluster client, backs off while every node is down (no reconnect loop, no listener piling up
// on a dead socket: the MaxListenersExceededWarning ioredis' cluster subscriber gave), and subscribes again once the
// nodes are back.
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { RotatingSubscriber } from '../../../service/cache/cluster-subscriber.infra.js';
import { startRedisCluster, type RedisDeployment } from '../../support/redis.js';
import { freePort, waitFor } from '../../support/local-process.js';

const CHANNEL = 'test:rotating-subscriber';

describe('RotatingSubscriber (Redis Cluster)', function () {
  this.timeout(120000);
  let redis: RedisDeployment;
  let publisher: Cluster;
  let sub: RotatingSubscriber;
  const messages: string[] = [];
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  let readies = 0;

  before(async () => {
    redis = await startRedisCluster();
    const nodes = redis.nodes.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) }));
    publisher = new Cluster(nodes, { enableOfflineQueue: true });
    publisher.on('error', () => undefined);
    const dead = { host: '127.0.0.1', port: await freePort() };
    process.on('warning', onWarning);
    sub = new RotatingSubscriber({ nodes: () => [dead, ...nodes], connectTimeout: 500 });
    sub.on('error', () => undefined);
    sub.on('message', (channel: string, message: string) => {
      if (channel === CHANNEL) messages.push(message);
    });
    sub.on('ready', () => {
      readies++;
      void sub.subscribe(CHANNEL).catch(() => undefined);
    });
  });
  after(async () => {
    process.off('warning', onWarning);
    sub?.disconnect();
    publisher?.disconnect();
    await redis?.stop();
  });

  /** Publishes `m` through the cluster client until the subscriber has it (the subscription may still be on its way). */
  const delivered = (m: string) =>
    waitFor(`message ${m}`, async () => {
      await publisher.publish(CHANNEL, m);
      return messages.includes(m);
    });

  it('connects to a live node past a dead one and receives what any node publishes', async () => {
    await delivered('one');
    expect(sub.status).to.equal('ready');
    expect(readies).to.equal(1);
  });

  it('backs off while every node is down, without piling listeners on a dead socket, and subscribes again when they are back', async () => {
    const attempts0 = sub.attempts;
    await redis.kill();
    await new Promise((r) => setTimeout(r, 3000));
    const attempts = sub.attempts - attempts0;
    // Waits of 100, 200, 300 ... ms between attempts (plus refused connects): a handful in 3 s, not a loop.
    expect(attempts).to.be.within(1, 12);
    expect(sub.status).to.not.equal('ready');
    expect(warnings.map((w) => w.message)).to.deep.equal([]);
    await redis.restart();
    await delivered('two');
    expect(readies).to.be.greaterThanOrEqual(2);
    expect(warnings.map((w) => w.message)).to.deep.equal([]);
  });
});
