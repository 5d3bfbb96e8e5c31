// End to end on the real node: what the operator renders actually runs. The sample app and every
// stage's example reach Ready with each container started and never restarted, from images built on
// this machine (operator image settings, as an air-gapped cluster would set them), and the app
// answers through the ingress controller on 127.0.0.1.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { getCluster, repoRoot, waitFor, type TestCluster } from '../support/cluster.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { createRealNodeNamespace, deleteRealNodeNamespace, imageSettings, NODE_IP, podProblems, realNode, realNodeMissing, type RealNode } from '../support/real-node.js';
import { httpRequest, type RequestOptions, type Response } from '../support/http-request.js';
import { startS3, type S3Server } from '../support/s3.js';
import { PNG } from '../service/harness.js';
import { fitToNode, type Spec } from '../../hack/node/fit-app.js';

interface AppView {
  metadata: { generation: number };
  status?: { observedGeneration?: number; stage?: string; conditions?: { type: string; status: string; reason: string; message?: string }[] };
}

/** An HTTP request through the ingress controller, with the Host header the Ingress routes on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of several shapes, checked by the assertions
async function viaIngress(node: RealNode, method: string, url: string, opts: RequestOptions & { host: string }): Promise<Omit<Response, 'json'> & { json: () => any }> {
  // Absolute URLs (upload slots, image URLs) name the app's host: only their path goes to the ingress, the host rides in Host.
  const target = new URL(url, 'http://placeholder');
  const res = await httpRequest(node.ingressURL, method, target.pathname + target.search, opts);
  return { ...res, json: () => res.json() };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('real node: the rendered topology runs', function () {
  this.timeout(900_000);
  let cluster: TestCluster;
  let node: RealNode;
  let operator: OperatorProcess | undefined;
  let ns: string | undefined;

  const kubectl = async (...args: string[]) => {
    const res = await cluster.kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${res.stderr}`);
    return res.stdout;
  };
  const app = async (name: string): Promise<AppView> => JSON.parse(await kubectl('get', 'graminstaapp', name, '-n', ns!, '-o', 'json')) as AppView;
  const waitReady = async (name: string, stage: string, timeoutMs = 300_000) => {
    let last: AppView | undefined;
    await waitFor(`${name} Ready at stage ${stage}`, timeoutMs, async () => {
      last = await app(name);
      const ready = last.status?.conditions?.find((c) => c.type === 'Ready');
      return last.status?.observedGeneration === last.metadata.generation && ready?.status === 'True' && last.status?.stage === stage;
    }, 1000).catch(async (err: Error) => {
      const pods = await cluster.kubectl(['get', 'pods', '-n', ns!, '-o', 'wide']);
      throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}\n${pods.stdout}`);
    });
    return last!;
  };
  /** Waits until every pod of the namespace runs as it should (probes may need a moment after Ready). */
  const allRunning = async () => {
    let problems: { pod: string; problem: string }[] = [];
    await waitFor('every pod running with no restarts', 120_000, async () => {
      problems = await podProblems(cluster, ns!, node.name);
      return problems.length === 0;
    }, 1000).catch(() => {
      throw new Error(`pods not running as they should: ${JSON.stringify(problems)}`);
    });
  };
  const applyApp = async (name: string, spec: Spec) => {
    const doc = { apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', metadata: { name, namespace: ns }, spec };
    const res = await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(doc) });
    if (res.code !== 0) throw new Error(`applying ${name} failed: ${res.stderr}`);
  };
  const example = (file: string): Spec => (parse(readFileSync(join(repoRoot, 'examples', file), 'utf8')) as { spec: Spec }).spec;
  const podOf = async (selector: string) => (await kubectl('get', 'pods', '-n', ns!, '-l', selector, '-o', 'jsonpath={.items[0].metadata.name}')).trim();

  before(async function () {
    const missing = realNodeMissing();
    if (missing) {
      if (process.env.GRAMINSTA_REQUIRE_REAL_NODE === '1') throw new Error(`GRAMINSTA_REQUIRE_REAL_NODE=1 but ${missing}`);
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    cluster = await getCluster();
    node = realNode();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && operator) console.error(operator.logs.join('').slice(-6000));
    operator?.child.kill('SIGTERM');
    operator = undefined;
    if (ns) await deleteRealNodeNamespace(ns);
    ns = undefined;
  });

  it('runs the sample app: every container started, the API answers through the ingress, logs and exec work', async () => {
    ns = await createRealNodeNamespace('real-sample');
    operator = await startOperatorProcess('real-node-operator', ns, imageSettings(node));
    const t0 = Date.now();
    await applyApp('graminsta', fitToNode(example('graminsta.yaml'), { small: true }));
    await waitReady('graminsta', 'cdn');
    console.log(`      sample Ready on the real node in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await allRunning();

    const api = { host: 'api.graminsta.localtest.me' };
    await waitFor('the API through the ingress', 60_000, async () => (await viaIngress(node, 'GET', '/readyz', api)).status === 200, 500);
    const alice = (await viaIngress(node, 'POST', '/api/v1/users', { ...api, json: { username: 'alice', password: 'correct horse battery' } })).json();
    const bob = (await viaIngress(node, 'POST', '/api/v1/users', { ...api, json: { username: 'bob', password: 'correct horse battery' } })).json();
    expect(alice.token, 'alice signed up').to.be.a('string');
    const up = await viaIngress(node, 'POST', '/api/v1/uploads', { ...api, token: alice.token, json: { contentType: 'image/png', size: PNG.length } });
    expect(up.status, up.body.toString()).to.equal(201);
    const slot = up.json();
    const put = await viaIngress(node, 'PUT', slot.url, { ...api, token: alice.token, raw: PNG, headers: slot.headers });
    expect(put.status, put.body.toString()).to.be.oneOf([200, 204]);
    const created = await viaIngress(node, 'POST', '/api/v1/photos', { ...api, token: alice.token, json: { uploadId: slot.uploadId, caption: 'from the real node' } });
    expect(created.status, created.body.toString()).to.equal(201);
    expect((await viaIngress(node, 'PUT', '/api/v1/users/alice/follow', { ...api, token: bob.token })).status).to.be.oneOf([200, 204]);
    const feed = await viaIngress(node, 'GET', '/api/v1/feed', { ...api, token: bob.token });
    expect(feed.status).to.equal(200);
    const items = feed.json().items as { caption: string; imageUrl: string }[];
    expect(items.map((p) => p.caption)).to.deep.equal(['from the real node']);
    const image = await viaIngress(node, 'GET', items[0]!.imageUrl, api);
    expect(image.status).to.equal(200);
    expect(sha256(image.body)).to.equal(sha256(PNG));
    // The web tier serves its page through the same ingress.
    const page = await viaIngress(node, 'GET', '/', { host: 'graminsta.localtest.me' });
    expect(page.status).to.equal(200);
    expect(page.body.toString()).to.match(/<html/i);

    const logs = await kubectl('logs', '-n', ns, 'deployment/graminsta-api', '--tail=50');
    expect(logs).to.match(/\{.*"msg"/);
    const apiPod = await podOf('app.kubernetes.io/component=api');
    const exec = await kubectl('exec', '-n', ns, apiPod, '--', 'node', '-e', 'console.log(process.version, process.getuid())');
    expect(exec.trim()).to.match(/^v24\.\d+\.\d+ 1000$/);
  });

  it('names a wrong image override on the tier condition (ImagePullBackOff), and recovers when it is fixed', async () => {
    ns = await createRealNodeNamespace('real-badimage');
    operator = await startOperatorProcess('real-node-badimage', ns, imageSettings(node));
    const spec = fitToNode(example('stage-2-split-database.yaml'), { small: true });
    const wrong = 'graminsta.local/no-such-postgres:15';
    (spec.database as Record<string, unknown>).image = wrong;
    await applyApp('graminsta', spec);
    let last: AppView | undefined;
    await waitFor('DatabaseReady to name the image pull failure', 120_000, async () => {
      last = await app('graminsta');
      const c = last.status?.conditions?.find((x) => x.type === 'DatabaseReady');
      return c?.status === 'False' && ['ErrImagePull', 'ImagePullBackOff'].includes(c.reason) && !!c.message?.includes(wrong);
    }, 1000).catch((err: Error) => {
      throw new Error(`${err.message}; conditions: ${JSON.stringify(last?.status?.conditions)}`);
    });
    expect(last!.status!.conditions!.find((c) => c.type === 'Ready')).to.include({ status: 'False' });
    (spec.database as Record<string, unknown>).image = node.images.postgres;
    await applyApp('graminsta', spec);
    await waitReady('graminsta', 'split-database');
  });

  it('survives the loss of the Postgres primary at data-layer: reads go on from the replicas, writes come back when the pod returns on its volume', async () => {
    ns = await createRealNodeNamespace('real-primary-loss');
    const s3 = await startS3('graminsta-photos', NODE_IP);
    try {
      await kubectl('create', 'secret', 'generic', 'graminsta-s3', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`);
      operator = await startOperatorProcess('real-node-primary-loss', ns, imageSettings(node));
      const spec = fitToNode(example('stage-6-data-layer.yaml'), { small: true, s3 });
      await applyApp('graminsta', spec);
      await waitReady('graminsta', 'data-layer');
      await allRunning();
      const replicas = (spec.database as { readReplicas: number }).readReplicas;
      const streaming = async () =>
        Number((await kubectl('exec', '-n', ns!, 'graminsta-db-0', '-c', 'postgres', '--', 'psql', '-h', '/tmp', '-U', 'postgres', '-tAc', "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")).trim());
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
        const pod = JSON.parse(await kubectl('get', 'pod', 'graminsta-db-0', '-n', ns!, '-o', 'json').catch(() => '{}')) as { metadata?: { uid?: string }; status?: { conditions?: { type: string; status: string }[] } };
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
      await allRunning();
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
      ns = await createRealNodeNamespace(`real-${stage}`);
      let s3: S3Server | undefined;
      try {
        const spec = example(file);
        if (JSON.stringify(spec).includes('"s3"')) {
          s3 = await startS3('graminsta-photos', NODE_IP);
          await kubectl('create', 'secret', 'generic', 'graminsta-s3', '-n', ns, `--from-literal=AWS_ACCESS_KEY_ID=${s3.accessKeyId}`, `--from-literal=AWS_SECRET_ACCESS_KEY=${s3.secretAccessKey}`);
        }
        operator = await startOperatorProcess(`real-node-${stage}`, ns, imageSettings(node));
        const t0 = Date.now();
        await applyApp('graminsta', fitToNode(spec, { small: true, s3 }));
        await waitReady('graminsta', stage);
        console.log(`      ${stage} Ready on the real node in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        await allRunning();
        if (stage === 'data-layer') {
          const replicas = (spec.database as { readReplicas: number }).readReplicas;
          let streaming = '';
          await waitFor(`${replicas} replicas streaming from the primary`, 120_000, async () => {
            streaming = await kubectl('exec', '-n', ns!, 'graminsta-db-0', '-c', 'postgres', '--', 'psql', '-h', '/tmp', '-U', 'postgres', '-tAc', "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
            return Number(streaming.trim()) === replicas;
          }, 2000).catch((err: Error) => {
            throw new Error(`${err.message}: pg_stat_replication counts ${streaming.trim()}`);
          });
          const shards = (spec.cache as { shards: number }).shards;
          const info = await kubectl('exec', '-n', ns!, 'graminsta-redis-0', '--', 'sh', '-c', 'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis-cli --no-auth-warning cluster info');
          expect(info).to.match(/cluster_state:ok/);
          expect(info).to.match(new RegExp(`cluster_size:${shards}\\b`));
        }
      } finally {
        await s3?.stop();
      }
    });
  }
});
