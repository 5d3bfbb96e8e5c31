// End to end on the real node: what the operator renders actually runs. The sample app and every
// stage's example reach Ready with each container started and never restarted, from images built on
// this machine (operator image settings, as an air-gapped cluster would set them), and the app
// answers through the ingress controller on 127.0.0.1.
import { expect } from 'chai';
import { NODE_IP } from '../support/real-node.js';
import { httpRequest } from '../support/http-request.js';
import { example, postPhoto, RealNodeSuite, sha256, signUp, viaIngress } from '../support/real-node-suite.js';
import { startS3, type S3Server } from '../support/s3.js';
import { waitFor } from '../support/cluster.js';
import { PNG } from '../service/harness.js';
import type { AppView } from '../support/real-node-suite.js';
import { fitToNode } from '../../hack/node/fit-app.js';
import { READ_YOUR_WRITES_MS } from '../../service/db/database.js';

describe('real node: the rendered topology runs', function () {
  this.timeout(900_000);
  const s = new RealNodeSuite().register();
  const kubectl = (...args: string[]) => s.kubectl(...args);

  it('runs the sample app: every container started, the API answers through the ingress, logs and exec work', async () => {
    const ns = await s.start('real-sample', 'real-node-operator');
    const t0 = Date.now();
    await s.applyApp('graminsta', fitToNode(example('graminsta.yaml'), { small: true }));
    await s.waitReady('graminsta', 'cdn');
    console.log(`      sample Ready on the real node in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await s.allRunning();

    const api = { host: 'api.graminsta.localtest.me' };
    const call = s.apiVia(api.host);
    await waitFor('the API through the ingress', 60_000, async () => (await call('GET', '/readyz')).status === 200, 500);
    const alice = await signUp(call, 'alice');
    const bob = await signUp(call, 'bob');
    await postPhoto(call, alice, PNG, 'from the real node');
    expect((await call('PUT', '/api/v1/users/alice/follow', { token: bob })).status).to.be.oneOf([200, 204]);
    const feed = await call('GET', '/api/v1/feed', { token: bob });
    expect(feed.status).to.equal(200);
    const items = feed.json().items as { caption: string; imageUrl: string }[];
    expect(items.map((p) => p.caption)).to.deep.equal(['from the real node']);
    const image = await call('GET', items[0]!.imageUrl);
    expect(image.status).to.equal(200);
    expect(sha256(image.body)).to.equal(sha256(PNG));
    // The web tier serves its page through the same ingress.
    const page = await viaIngress(s.node, 'GET', '/', { host: 'graminsta.localtest.me' });
    expect(page.status).to.equal(200);
    expect(page.body.toString()).to.match(/<html/i);

    const logs = await kubectl('logs', '-n', ns, 'deployment/graminsta-api', '--tail=50');
    expect(logs).to.match(/\{.*"msg"/);
    const apiPod = await s.podOf('app.kubernetes.io/component=api');
    const exec = await kubectl('exec', '-n', ns, apiPod, '--', 'node', '-e', 'console.log(process.version, process.getuid())');
    expect(exec.trim()).to.match(/^v24\.\d+\.\d+ 1000$/);
  });

  it('names a wrong image override on the tier condition (ImagePullBackOff), and recovers when it is fixed', async () => {
    await s.start('real-badimage', 'real-node-badimage');
    const spec = fitToNode(example('stage-2-split-database.yaml'), { small: true });
    const wrong = 'graminsta.local/no-such-postgres:15';
    (spec.database as Record<string, unknown>).image = wrong;
    await s.applyApp('graminsta', spec);
    let last: AppView | undefined;
    await waitFor('DatabaseReady to name the image pull failure', 120_000, async () => {
      last = await s.app('graminsta');
      const c = last.status?.conditions?.find((x) => x.type === 'DatabaseReady');
      return c?.status === 'False' && ['ErrImagePull', 'ImagePullBackOff'].includes(c.reason) && !!c.message?.includes(wrong);
    }, 1000).catch((err: Error) => {
      throw new Error(`${err.message}; conditions: ${JSON.stringify(last?.status?.conditions)}`);
    });
    expect(last!.status!.conditions!.find((c) => c.type === 'Ready')).to.include({ status: 'False' });
    (spec.database as Record<string, unknown>).image = s.node.images.postgres;
    await s.applyApp('graminsta', spec);
    await s.waitReady('graminsta', 'split-database');
  });

  it('survives the loss of the Postgres primary at data-layer: reads go on from the replicas, writes come back when the pod returns on its volume', async () => {
    const ns = await s.start('real-primary-loss', 'real-node-primary-loss');
    const s3 = await startS3('graminsta-photos', NODE_IP);
    try {
      await kubectl('create', 'secret', 'generic', 'graminsta-s3', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`);
      const spec = fitToNode(example('stage-6-data-layer.yaml'), { small: true, s3 });
      await s.applyApp('graminsta', spec);
      await s.waitReady('graminsta', 'data-layer');
      await s.allRunning();
      const replicas = (spec.database as { readReplicas: number }).readReplicas;
      const streaming = async () =>
        Number((await kubectl('exec', '-n', ns, 'graminsta-db-0', '-c', 'postgres', '--', 'psql', '-h', '/tmp', '-U', 'postgres', '-tAc', "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")).trim());
      await waitFor(`${replicas} replicas streaming`, 120_000, async () => (await streaming()) === replicas, 2000);
      // TLS to Postgres (issue 14): every TCP session on the primary, the replicas' streams included, is encrypted.
      const sessions = (await kubectl('exec', '-n', ns, 'graminsta-db-0', '-c', 'postgres', '--', 'psql', '-h', '/tmp', '-U', 'postgres', '-tAc',
        "SELECT count(*) FILTER (WHERE NOT s.ssl) || ' ' || count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.client_addr IS NOT NULL")).trim();
      const [plainSessions, tcpSessions] = sessions.split(' ').map(Number);
      expect(plainSessions, `sessions without TLS of ${tcpSessions}`).to.equal(0);
      expect(tcpSessions).to.be.at.least(replicas);

      const base = `http://${(await kubectl('get', 'service', 'graminsta-api', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}')).trim()}`;
      const signUp = async (username: string) => (await httpRequest(base, 'POST', '/api/v1/users', { json: { username, password: 'correct horse battery' } })).json<{ token: string }>().token;
      const writer = await signUp('writer');
      const reader = await signUp('reader');
      expect((await httpRequest(base, 'PUT', '/api/v1/users/writer/follow', { token: reader })).status).to.be.oneOf([200, 204]);
      // The follow sends the reader's reads to the primary for the read-your-writes window; past it they go to the
      // replicas, which is what the primary's loss below is to show (else they wait out the retry on the primary).
      await new Promise((r) => setTimeout(r, READ_YOUR_WRITES_MS + 500));

      // Reads (the reader's feed, never cached, and a profile) and writes (the writer's bio) every 250 ms.
      type Sample = { t: number; ms: number; ok: boolean; what: string };
      const samples: Sample[] = [];
      let lastAcked = '';
      let stop = false;
      const loop = async (what: string, send: (i: number) => Promise<boolean>) => {
        for (let i = 0; !stop; i++) {
          const t = Date.now();
          const ok = await send(i).catch(() => false);
          samples.push({ t, ms: Date.now() - t, ok, what });
          await new Promise((r) => setTimeout(r, 250));
        }
      };
      const loops = [
        loop('read', async () => (await httpRequest(base, 'GET', '/api/v1/feed', { token: reader })).status === 200 && (await httpRequest(base, 'GET', '/api/v1/users/writer')).status === 200),
        loop('write', async (i) => {
          const ok = (await httpRequest(base, 'PATCH', '/api/v1/me', { token: writer, json: { bio: `bio ${i}` } })).status === 200;
          if (ok) lastAcked = `bio ${i}`;
          return ok;
        }),
      ];
      await new Promise((r) => setTimeout(r, 3000));
      const uid = (await kubectl('get', 'pod', 'graminsta-db-0', '-n', ns, '-o', 'jsonpath={.metadata.uid}')).trim();
      const lostAt = Date.now();
      await kubectl('delete', 'pod', 'graminsta-db-0', '-n', ns, '--wait=false');
      // Until the new primary pod is Ready and writes have gone through for 5 s.
      let backAt = 0;
      await waitFor('writes to succeed again after the primary returned', 240_000, async () => {
        const pod = JSON.parse(await kubectl('get', 'pod', 'graminsta-db-0', '-n', ns, '-o', 'json').catch(() => '{}')) as { metadata?: { uid?: string }; status?: { conditions?: { type: string; status: string }[] } };
        const back = pod.metadata?.uid !== undefined && pod.metadata.uid !== uid && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (back && !backAt) backAt = Date.now();
        const writes = samples.filter((x) => x.what === 'write' && x.t > Date.now() - 5000);
        return !!back && writes.length >= 5 && writes.every((x) => x.ok);
      }, 1000);
      stop = true;
      await Promise.all(loops);

      const during = samples.filter((x) => x.t >= lostAt);
      const failedWrites = during.filter((x) => x.what === 'write' && !x.ok);
      const reads = during.filter((x) => x.what === 'read');
      const writeOutage = failedWrites.length ? (Math.max(...failedWrites.map((x) => x.t + x.ms)) - lostAt) / 1000 : 0;
      const slowest = (what: string) => Math.max(...during.filter((x) => x.what === what).map((x) => x.ms));
      console.log(
        `      primary loss: new primary Ready after ${((backAt - lostAt) / 1000).toFixed(1)} s; writes failed for ${writeOutage.toFixed(1)} s (${failedWrites.length} of ${during.filter((x) => x.what === 'write').length} failed, slowest ${slowest('write')} ms, held by the service's retry); reads ${reads.filter((x) => x.ok).length} of ${reads.length} served, slowest ${slowest('read')} ms`,
      );
      expect(reads.filter((x) => !x.ok), 'reads that failed while the primary was away').to.deep.equal([]);
      // The replicas stream from the returned primary, and every acknowledged write is there.
      await waitFor(`${replicas} replicas streaming again`, 120_000, async () => (await streaming()) === replicas, 2000);
      const me = (await httpRequest(base, 'GET', '/api/v1/me', { token: writer })).json<{ user: { bio: string } }>();
      expect(me.user.bio).to.equal(lastAcked);
      await s.allRunning();
    } finally {
      await s3.stop();
    }
  });

  const stages: [string, string][] = [
    ['stage-1-single-machine.yaml', 'single-machine'],
    ['stage-2-split-database.yaml', 'split-database'],
    ['stage-3-split-clients.yaml', 'split-clients'],
    ['stage-4-load-balanced.yaml', 'load-balanced'],
    ['stage-5-cdn.yaml', 'cdn'],
    ['stage-6-data-layer.yaml', 'data-layer'],
  ];
  for (const [file, stage] of stages) {
    it(`runs examples/${file}: stage ${stage} Ready with every container started`, async () => {
      const ns = await s.start(`real-${stage}`, `real-node-${stage}`);
      let s3: S3Server | undefined;
      try {
        const spec = example(file);
        if (JSON.stringify(spec).includes('"s3"')) {
          s3 = await startS3('graminsta-photos', NODE_IP);
          await kubectl('create', 'secret', 'generic', 'graminsta-s3', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`);
        }
        const t0 = Date.now();
        await s.applyApp('graminsta', fitToNode(spec, { small: true, s3 }));
        await s.waitReady('graminsta', stage);
        console.log(`      ${stage} Ready on the real node in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        await s.allRunning();
        if (stage === 'data-layer') {
          const replicas = (spec.database as { readReplicas: number }).readReplicas;
          let streaming = '';
          await waitFor(`${replicas} replicas streaming from the primary`, 120_000, async () => {
            streaming = await kubectl('exec', '-n', ns, 'graminsta-db-0', '-c', 'postgres', '--', 'psql', '-h', '/tmp', '-U', 'postgres', '-tAc', "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
            return Number(streaming.trim()) === replicas;
          }, 2000).catch((err: Error) => {
            throw new Error(`${err.message}: pg_stat_replication counts ${streaming.trim()}`);
          });
          const shards = (spec.cache as { shards: number }).shards;
          const info = await kubectl('exec', '-n', ns, 'graminsta-redis-0', '--', 'sh', '-c', 'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis-cli --no-auth-warning cluster info');
          expect(info).to.match(/cluster_state:ok/);
          expect(info).to.match(new RegExp(`cluster_size:${shards}\\b`));
        }
      } finally {
        await s3?.stop();
      }
    });
  }
});
