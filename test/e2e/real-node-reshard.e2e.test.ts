// End to end on the real node: a Redis Cluster grows 3 -> 6 shards and shrinks back with keys written before and
// read after, while a reader inside a Redis pod counts the cache errors it sees; and a standalone Redis becomes a
// cluster and a standalone again, its keys copied each time, while the API answers every profile read (ADR 0012).
import { expect } from 'chai';
import { httpRequest } from '../support/http-request.js';
import { RealNodeSuite, example } from '../support/real-node-suite.js';
import { waitFor } from '../support/cluster.js';
import { withCacheShards } from '../support/data-layer-suite.js';
import { fitToNode } from '../../hack/node/fit-app.js';
import { NODE_IP } from '../support/real-node.js';
import { startS3, type S3Server } from '../support/s3.js';

/** Keys written before the moves (GRAMINSTA_RESHARD_KEYS). */
const KEYS = Number(process.env.GRAMINSTA_RESHARD_KEYS ?? 2000);

describe('real node: Redis Cluster resharding keeps the keys', function () {
  this.timeout(1_800_000);
  const s = new RealNodeSuite().register();
  let s3: S3Server | undefined;
  after(async () => s3?.stop());
  const auth = 'export REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")"';

  /** Runs sh -c script in the redis container of pod `pod` of the test namespace. */
  const inRedis = (pod: string, script: string) => s.kubectl('exec', '-n', s.ns!, pod, '-c', 'redis', '--', 'sh', '-c', script);

  /** Writes user:0 .. user:<KEYS-1> = "<value> i" with a 2 h TTL through pod `pod` (redis-cli -c: a cluster or a standalone). */
  const writeKeys = (pod: string, value = 'profile') =>
    inRedis(pod, `${auth}; i=0; while [ $i -lt ${KEYS} ]; do echo "SET user:$i \\"${value} $i\\" EX 7200"; i=$((i + 1)); done | redis-cli --no-auth-warning -c > /dev/null`);

  /** The number of keys user:0 .. user:<KEYS-1> that read back other than "<value> i" or without a TTL, through redis-cli -c (follows MOVED/ASK). */
  const missing = async (pod: string, value = 'profile') => {
    const out = await inRedis(pod, `${auth}; i=0; bad=0; while [ $i -lt ${KEYS} ]; do v=$(redis-cli --no-auth-warning -c GET user:$i); t=$(redis-cli --no-auth-warning -c TTL user:$i); [ "$v" = "${value} $i" ] && [ "$t" -gt 0 ] || bad=$((bad + 1)); i=$((i + 1)); done; echo $bad`);
    return Number(out.trim());
  };

  /** status.cache of the app. */
  const cacheStatus = async (name: string) =>
    JSON.parse((await s.kubectl('get', 'graminstaapp', name, '-n', s.ns!, '-o', 'jsonpath={.status.cache}')) || '{}') as { shards?: number; replicasPerShard?: number; summary?: string };

  /**
   * Where the seconds of a move went, from the API's own timestamps (1 s resolution) relative to `started`: when the last
   * cache pod became Ready, and when each cache-init Job made since was created and completed, with its pods' restarts
   * (a failed run of the form script waits out the kubelet's back-off). Printed only; a read that fails says so.
   */
  const moveBreakdown = async (started: number) => {
    const at = (t?: string) => {
      if (!t) return 'never';
      const secs = Math.round((Date.parse(t) - started) / 1000);
      return `${secs < 0 ? '' : '+'}${secs} s`;
    };
    try {
      type Meta = { name: string; creationTimestamp: string };
      type Condition = { type: string; status: string; lastTransitionTime?: string };
      type Item = { metadata: Meta; status?: { conditions?: Condition[]; containerStatuses?: { restartCount: number }[] } };
      type JobItem = { metadata: Meta; status?: { completionTime?: string; failed?: number } };
      const list = async <T>(kind: string, component: string) =>
        (JSON.parse(await s.kubectl('get', kind, '-n', s.ns!, '-l', `app.kubernetes.io/component=${component}`, '-o', 'json')) as { items: T[] }).items;
      const pods = await list<Item>('pods', 'cache');
      const readyAt = pods.map((p) => p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime ?? '').sort();
      const jobPods = await list<Item>('pods', 'cache-init');
      const jobs = (await list<JobItem>('jobs', 'cache-init')).filter((j) => Date.parse(j.metadata.creationTimestamp) >= started - 1000);
      const jobText = jobs.map((j) => {
        const restarts = jobPods.filter((p) => p.metadata.name.startsWith(`${j.metadata.name}-`)).reduce((n, p) => n + (p.status?.containerStatuses?.[0]?.restartCount ?? 0), 0);
        return `Job ${j.metadata.name} created ${at(j.metadata.creationTimestamp)}, done ${at(j.status?.completionTime)}, ${restarts} restarts, ${j.status?.failed ?? 0} failed pods`;
      });
      return `last cache pod Ready ${at(readyAt.at(-1))}; ${jobText.join('; ') || 'no cache-init Job created'}`;
    } catch (err) {
      return `breakdown not read: ${(err as Error).message.split('\n')[0]}`;
    }
  };

  const shards = async (name: string, n: number) => {
    const spec = fitToNode(example('stage-6-data-layer.yaml'), { small: true, s3 });
    spec.cache = withCacheShards(spec.cache as { replicasPerShard?: number }, n);
    await s.applyApp(name, spec);
  };

  /** A namespace with an operator, and the S3 Secret stage 6 needs (its images are in S3: a server on the node's address). */
  const startWithS3 = async (prefix: string, operatorName: string) => {
    const ns = await s.start(prefix, operatorName);
    s3 ??= await startS3('graminsta-photos', NODE_IP);
    await s.kubectl('create', 'secret', 'generic', 'graminsta-s3', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`);
    return ns;
  };

  it('3 -> 6 -> 3 shards: every key written before is read after, the cache errors of a reader are counted', async () => {
    await startWithS3('real-reshard', 'real-node-reshard');
    await shards('graminsta', 3);
    await s.waitReady('graminsta', 'data-layer', 900_000);
    const pod = 'graminsta-redis-0';
    await writeKeys(pod);
    expect(await missing(pod), 'keys written').to.equal(0);

    for (const [to, from] of [[6, 3], [3, 6]] as const) {
      // A reader in pod 0 (which stays) reads the keys one after the other until told to stop, counting errors.
      await inRedis(pod, `rm -f /tmp/stop-reader; (${auth}; ok=0; err=0; i=0; until [ -e /tmp/stop-reader ]; do if redis-cli --no-auth-warning -c GET user:$i > /dev/null 2>&1; then ok=$((ok + 1)); else err=$((err + 1)); fi; i=$(( (i + 1) % ${KEYS} )); done; echo "$ok $err" > /tmp/reader-result) > /dev/null 2>&1 &`);
      const started = Date.now();
      await shards('graminsta', to);
      await waitFor(`the cache resharding ${from} -> ${to}`, 300_000, async () => (await cacheStatus('graminsta')).summary?.includes('resharding') ?? false, 500).catch(() => undefined);
      await s.waitReady('graminsta', 'data-layer', 900_000);
      const seconds = (Date.now() - started) / 1000;
      await inRedis(pod, 'touch /tmp/stop-reader');
      await waitFor('the reader to stop', 30_000, async () => (await inRedis(pod, 'cat /tmp/reader-result 2>/dev/null || true')).trim() !== '');
      const [reads, errors] = (await inRedis(pod, 'cat /tmp/reader-result')).trim().split(' ').map(Number);
      console.log(`      [reshard] real node ${from} -> ${to} shards with ${KEYS} keys: ${seconds.toFixed(1)} s to Ready; reader: ${reads} reads, ${errors} errors`);
      console.log(`      [reshard] real node ${from} -> ${to} where the time went: ${await moveBreakdown(started)}`);
      expect(await cacheStatus('graminsta')).to.deep.include({ shards: to, replicasPerShard: 1 });
      expect(await missing(pod), `keys after ${from} -> ${to}`).to.equal(0);
      const nodes = await inRedis(pod, `${auth}; redis-cli --no-auth-warning CLUSTER NODES`);
      expect(nodes.trim().split('\n').filter((l) => / master /.test(l) || /,master /.test(l))).to.have.length(to);
    }
    const pods = await s.kubectl('get', 'pods', '-n', s.ns!, '-l', 'app.kubernetes.io/component=cache', '-o', 'name');
    expect(pods.trim().split('\n')).to.have.length(6);
  });
  it('standalone -> 3 shards -> standalone: the keys written before each move are read after, every profile read through the API answers', async () => {
    const ns = await startWithS3('real-mode', 'real-node-redis-mode');
    await shards('graminsta', 1);
    await s.waitReady('graminsta', 'data-layer', 900_000);
    const base = `http://${(await s.kubectl('get', 'service', 'graminsta-api', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}')).trim()}`;
    expect((await httpRequest(base, 'POST', '/api/v1/users', { json: { username: 'writer', password: 'correct horse battery' } })).status).to.equal(201);

    const moves = [
      { from: 1, to: 3, before: 'graminsta-redis-standalone-0', after: 'graminsta-redis-0', left: 'graminsta-redis-standalone' },
      { from: 3, to: 1, before: 'graminsta-redis-0', after: 'graminsta-redis-standalone-0', left: 'graminsta-redis' },
    ];
    for (const [n, { from, to, before, after, left }] of moves.entries()) {
      // A value of this move's own, so the keys read after are the ones written in the mode being left.
      const value = `move-${n}`;
      await writeKeys(before, value);
      expect(await missing(before, value), `keys written before ${from} -> ${to}`).to.equal(0);
      // Profile reads through the API's Service every 100 ms until the old mode is pruned (the cached path).
      const statuses = new Map<number | string, number>();
      let stop = false;
      const reader = (async () => {
        while (!stop) {
          const status = await httpRequest(base, 'GET', '/api/v1/users/writer').then((r) => r.status, (err: Error) => err.message);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const started = Date.now();
      await shards('graminsta', to);
      await s.waitReady('graminsta', 'data-layer', 900_000);
      const ready = (Date.now() - started) / 1000;
      await waitFor(`StatefulSet ${left} pruned`, 300_000, async () => (await s.cluster.kubectl(['get', 'statefulset', left, '-n', ns])).code !== 0, 1000);
      const pruned = (Date.now() - started) / 1000;
      stop = true;
      await reader;
      const reads = [...statuses.values()].reduce((a, b) => a + b, 0);
      console.log(`      [redis-mode] real node ${from} -> ${to} shards with ${KEYS} keys: ${ready.toFixed(1)} s to Ready, ${pruned.toFixed(1)} s to the old mode pruned; API profile reads: ${JSON.stringify(Object.fromEntries(statuses))}`);
      expect(Object.fromEntries(statuses), 'API profile reads by status').to.deep.equal({ 200: reads });
      expect(await cacheStatus('graminsta')).to.deep.include({ shards: to, replicasPerShard: to === 1 ? 0 : 1 });
      expect(await missing(after, value), `keys after ${from} -> ${to}`).to.equal(0);
    }
  });
});
