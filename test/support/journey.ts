// The growth journey on the real node, shared by its test (test/e2e/journey.e2e.test.ts, which asserts)
// and its benchmark (bench/journey.bench.ts, which prints the figures): an app at users 1 with accounts,
// photos, follows and likes grows through every stage to 100k users and back to 1 under steady traffic
// from a load generator in its own process, then is deleted and applied again with the same name.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, waitFor, type TestCluster } from './cluster.js';
import { httpRequest as request } from './http-request.js';
import { podProblems, readyPods, type RealNode } from './real-node.js';
import { PNG } from '../service/harness.js';
import { fitToNode, type Spec } from '../../hack/node/fit-app.js';
import type { LoadConfig } from './journey-load.js';
import { Timeline } from './timeline.js';

/** What the journey measured for one move between stages. */
export interface Transition {
  users: number;
  stage: string;
  secondsToReady: number;
  sent: number;
  failed: number;
  p99Ms: number;
  /** p99 over the rest window after Ready (the figure to compare with). */
  restP99Ms: number;
}

/** What a run of the journey saw. */
export interface JourneyResult {
  transitions: Transition[];
  load: { sent: number; failed: number; resentOnReusedSocket: number; failures: { t: number; op: string; status?: number; error?: string }[] };
  photosChecked: number;
  photoProblems: string[];
  stageProblems: string[];
  hpa?: { maxReplicas: number; scaledBackTo: number; burstRequests: number; burstFailures: number; resentOnReusedSocket: number };
  recreate: { secondsToReady: number; photosFound: number; photosExpected: number; loginWorks: boolean };
  /** Error lines the app's pods logged during the journey (collected every few seconds, as pods come and go). */
  errorLogs: string[];
  /** Photos not found after the app was deleted and applied again. */
  missingAfterRecreate: string[];
  /** Container restarts during the journey, with the reason of the run that ended. */
  restarts: string[];
  /** For each failed request, what the cluster did to the app's pods and endpoints within 10 s of it. */
  aroundFailures: string[];
  /** Where the load log and the timeline were written. */
  dir: string;
}

interface AppView {
  metadata: { generation: number; uid: string };
  status?: {
    observedGeneration?: number;
    stage?: string;
    endpoints?: { api?: string };
    conditions?: { type: string; status: string; reason: string; message?: string }[];
  };
}

interface Photo {
  id: number;
  key: string;
  sha256: string;
}

/** The stage each users value of the journey lands on. */
export const JOURNEY: [number, string][] = [
  [10, 'split-database'],
  [100, 'split-clients'],
  [1000, 'load-balanced'],
  [10000, 'cdn'],
  [100000, 'data-layer'],
  [10000, 'cdn'],
  [1000, 'load-balanced'],
  [100, 'split-clients'],
  [10, 'split-database'],
  [1, 'single-machine'],
];

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The app's spec at `users`: fitted to the node; from load-balanced on, an HPA with a short behavior so the burst test sees it act. */
export function journeySpec(users: number): Spec {
  const spec: Spec = { users };
  if (users >= 1000) {
    spec.api = {
      autoscaling: {
        minReplicas: 1,
        maxReplicas: 3,
        targetCPUUtilizationPercentage: 50,
        behavior: {
          scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 2, periodSeconds: 15 }] },
          scaleDown: { stabilizationWindowSeconds: 15, policies: [{ type: 'Pods', value: 1, periodSeconds: 15 }] },
        },
      },
    };
  }
  const fitted = fitToNode(spec, { small: true });
  // The API's CPU request is what the HPA's utilization is measured against: large enough that the steady load
  // stays under the target and only the burst goes over it.
  // The load generators sign up and log in many users from one address (the host): the per-IP rate limits would refuse them.
  fitted.api = {
    ...(fitted.api as Spec),
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    rateLimits: { enabled: false },
  };
  return fitted;
}

function p99(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

/** Runs the journey in namespace `ns` (the operator already watches it) and returns what it saw. */
export async function runJourney(cluster: TestCluster, node: RealNode, ns: string, log: (line: string) => void, opts: { restSeconds?: number; rate?: number } = {}): Promise<JourneyResult> {
  const name = 'journey';
  const restSeconds = opts.restSeconds ?? 15;
  const kubectl = async (...args: string[]) => {
    const res = await cluster.kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${res.stderr}`);
    return res.stdout;
  };
  const app = async (): Promise<AppView> => JSON.parse(await kubectl('get', 'graminstaapp', name, '-n', ns, '-o', 'json')) as AppView;
  const apply = async (spec: Spec) => {
    const doc = { apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', metadata: { name, namespace: ns }, spec };
    const res = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: JSON.stringify(doc) });
    if (res.code !== 0) throw new Error(`applying ${name} failed: ${res.stderr}`);
  };
  /** Ready by the kstatus rules: status for this generation, Ready True, Reconciling and Stalled not True, at the stage. */
  const waitReady = async (stage: string, timeoutMs = 420_000): Promise<AppView> => {
    let last: AppView | undefined;
    await waitFor(`${name} Ready at stage ${stage}`, timeoutMs, async () => {
      last = await app();
      const c = (t: string) => last!.status?.conditions?.find((x) => x.type === t)?.status;
      return last.status?.observedGeneration === last.metadata.generation && last.status?.stage === stage && c('Ready') === 'True' && c('Reconciling') !== 'True' && c('Stalled') !== 'True';
    }, 1000).catch(async (err: Error) => {
      const pods = await cluster.kubectl(['get', 'pods,jobs', '-n', ns, '-o', 'wide']);
      throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}\n${pods.stdout}`);
    });
    return last!;
  };
  const apiURL = async () => `http://${(await kubectl('get', 'service', `${name}-api`, '-n', ns, '-o', 'jsonpath={.spec.clusterIP}')).trim()}`;

  // The last lines of a container's run that ended (a crash prints to stderr, maybe not as JSON), read at once.
  const restartLogs: string[] = [];
  const timeline = new Timeline(cluster, ns, (pod, container) => {
    void cluster.kubectl(['logs', '-n', ns, pod, '-c', container, '--previous', '--tail=40']).then((out) => restartLogs.push(`${pod}/${container} (previous run):\n${out.stdout}${out.stderr}`));
  });
  await timeline.start();

  // 1. users 1: accounts, photos, follows, likes.
  let t0 = Date.now();
  await apply(journeySpec(1));
  await waitReady('single-machine');
  log(`single-machine Ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const base = await apiURL();
  await waitFor('the API Service answers', 60_000, async () => (await request(base, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200, 500);
  const users: { username: string; token: string; password: string }[] = [];
  for (const username of ['alice', 'bob', 'carol', 'dave']) {
    const password = `${username} correct horse battery`;
    const res = await request(base, 'POST', '/api/v1/users', { json: { username, password } });
    if (res.status !== 201) throw new Error(`signing up ${username}: ${res.status} ${res.body.toString()}`);
    users.push({ username, password, token: res.json<{ token: string }>().token });
  }
  const photos: Photo[] = [];
  for (const [i, u] of users.entries()) {
    const slot = await request(base, 'POST', '/api/v1/uploads', { token: u.token, json: { contentType: 'image/png', size: PNG.length } });
    if (slot.status !== 201) throw new Error(`upload slot: ${slot.status} ${slot.body.toString()}`);
    const s = slot.json<{ url: string; uploadId: string; headers?: Record<string, string> }>();
    const put = await request(base, 'PUT', new URL(s.url, base).pathname, { token: u.token, raw: PNG, headers: s.headers });
    if (put.status !== 204 && put.status !== 200) throw new Error(`upload: ${put.status} ${put.body.toString()}`);
    const created = await request(base, 'POST', '/api/v1/photos', { token: u.token, json: { uploadId: s.uploadId, caption: `photo ${i}` } });
    if (created.status !== 201) throw new Error(`photo: ${created.status} ${created.body.toString()}`);
    const view = created.json<{ photo: { id: number; imageUrl: string } }>().photo;
    photos.push({ id: view.id, key: new URL(view.imageUrl, base).pathname.replace(/^\/images\//, ''), sha256: sha256(PNG) });
  }
  for (const u of users) {
    for (const v of users) if (u !== v) await request(base, 'PUT', `/api/v1/users/${v.username}/follow`, { token: u.token });
    for (const p of photos) await request(base, 'PUT', `/api/v1/photos/${p.id}/like`, { token: u.token });
  }

  // 2. The load generator, in its own process, for the whole journey.
  const dir = mkdtempSync(join(tmpdir(), 'graminsta-journey-'));
  const logFile = join(dir, 'load.ndjson');
  const config: LoadConfig = {
    apiURL: base,
    rate: opts.rate ?? 8,
    maxSeconds: 2400,
    users: users.map(({ username, token }) => ({ username, token })),
    photos: photos.map((p) => p.id),
    uploadEvery: 25,
    png: PNG.toString('base64'),
    logFile,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const loader: ChildProcess = spawn(process.execPath, [join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), join(repoRoot, 'test/support/journey-load.ts'), join(dir, 'config.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let summary = '';
  loader.stdout!.on('data', (c: Buffer) => (summary += c.toString()));
  const loaderDone = new Promise<void>((resolve) => loader.on('exit', () => resolve()));
  const requests = () =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"t"'))
      .map((l) => JSON.parse(l) as { t: number; status: number; ms: number; error?: string });
  const loaderPhotos = () =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"photo"'))
      .map((l) => (JSON.parse(l) as { photo: Photo }).photo);

  const photoProblems: string[] = [];
  const stageProblems: string[] = [];
  let photosChecked = 0;
  /** Every photo made so far is listed by the API and its image has the bytes it was uploaded with. */
  const checkPhotos = async (where: string) => {
    for (const p of [...photos, ...loaderPhotos()]) {
      photosChecked++;
      const view = await request(base, 'GET', `/api/v1/photos/${p.id}`);
      if (view.status !== 200) {
        photoProblems.push(`${where}: photo ${p.id}: GET ${view.status}`);
        continue;
      }
      const img = await request(base, 'GET', `/images/${p.key}`);
      const bytes = img.status === 302 || img.status === 307 ? undefined : img.body;
      if (img.status !== 200 || !bytes || sha256(bytes) !== p.sha256) photoProblems.push(`${where}: image ${p.key}: ${img.status}${bytes ? ` sha ${sha256(bytes).slice(0, 12)}` : ''}`);
    }
  };
  const exec = (pod: string, container: string | undefined, ...cmd: string[]) => kubectl('exec', '-n', ns, pod, ...(container ? ['-c', container] : []), '--', ...cmd);
  const checkDataLayer = async () => {
    const streaming = (await exec(`${name}-db-0`, 'postgres', 'psql', '-h', '/tmp', '-U', 'postgres', '-tAc', "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")).trim();
    if (Number(streaming) < 1) stageProblems.push(`data-layer: ${streaming} replicas streaming`);
    // Every ready API pod's metrics: the HPA may have added a pod a moment ago (one that has served nothing yet), so
    // no one pod stands for the tier. A pod the HPA removes between the list and the exec is left out.
    const apiMetrics: string[] = [];
    for (const pod of await readyPods(cluster, ns, 'app.kubernetes.io/component=api')) {
      const res = await cluster.kubectl(['exec', '-n', ns, pod, '--', 'node', '-e', "fetch('http://127.0.0.1:9090/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"]);
      if (res.code === 0) apiMetrics.push(res.stdout);
      else {
        const now = await cluster.kubectl(['get', 'pod', pod, '-n', ns, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
        if (now.code === 0 && now.stdout.trim() === '') throw new Error(`kubectl exec ${pod} (metrics) failed: ${res.stderr}`);
      }
    }
    const sumOf = (re: RegExp) => apiMetrics.reduce((n, text) => n + [...text.matchAll(re)].reduce((m, match) => m + Number(match[1]), 0), 0);
    const replicaReads = sumOf(/^graminsta_db_reads_total\{[^}]*target="replica"[^}]*\} (\d+)/gm);
    if (replicaReads === 0) stageProblems.push(`data-layer: no read was served by a replica (graminsta_db_reads_total{target="replica"} is 0 on every API pod, ${apiMetrics.length} read)`);
    const info = await exec(`${name}-redis-0`, undefined, 'sh', '-c', 'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis-cli --no-auth-warning cluster info');
    if (!/cluster_state:ok/.test(info)) stageProblems.push(`data-layer: Redis cluster_state is not ok: ${info.slice(0, 200)}`);
    // The cache tier is near copies in each API process in front of Redis: a profile read a moment ago by the same pod
    // never reaches Redis, so Redis may see only misses and fills. Served hits are counted by the API pods; that
    // Redis is on the path shows in its lookups (hits + misses).
    let lookups = 0;
    const redisPods = (await kubectl('get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/component=cache', '-o', 'jsonpath={.items[*].metadata.name}')).trim().split(/\s+/);
    for (const pod of redisPods) {
      const stats = await exec(pod, undefined, 'sh', '-c', 'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")" redis-cli --no-auth-warning info stats');
      lookups += Number(/keyspace_hits:(\d+)/.exec(stats)?.[1] ?? 0) + Number(/keyspace_misses:(\d+)/.exec(stats)?.[1] ?? 0);
    }
    if (lookups === 0) stageProblems.push('data-layer: no profile lookup reached Redis (keyspace_hits + keyspace_misses is 0 on every node)');
    const served = sumOf(/^graminsta_cache_requests_total\{result="hit"\} (\d+)/gm);
    if (served === 0) stageProblems.push('data-layer: the cache served no hit (graminsta_cache_requests_total{result="hit"} is 0 on every API pod)');
  };
  const running = async (stage: string) => {
    let problems: { pod: string; problem: string }[] = [];
    await waitFor(`every pod of ${stage} running`, 120_000, async () => {
      problems = (await podProblems(cluster, ns, node.name)).filter((p) => !/restart/i.test(p.problem));
      return problems.length === 0;
    }, 1000).catch(() => stageProblems.push(`${stage}: pods not running: ${JSON.stringify(problems)}`));
  };

  // Error lines of the app's pods, gathered while they live (old pods are gone once a move completes).
  const errorLogs = new Set<string>();
  let collecting = true;
  const collector = (async () => {
    while (collecting) {
      const pods = (await cluster.kubectl(['get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.trim().split(/\s+/).filter(Boolean);
      for (const pod of pods) {
        const out = await cluster.kubectl(['logs', '-n', ns, pod, '--all-containers', '--since=6s']);
        // JSON error lines, and from the service's own pods any line that is not JSON (a stack trace, Node's own message).
        const ours = /-(api|web|origin)-/.test(pod);
        for (const line of out.stdout.split('\n')) if (/"level":"(error|fatal)"/.test(line) || (ours && line.trim() !== '' && !line.startsWith('{'))) errorLogs.add(`${pod}: ${line.slice(0, 600)}`);
      }
      await new Promise((r) => setTimeout(r, 4000));
    }
  })();

  // 3. Through every stage and back, at rest for a while at each.
  const transitions: Transition[] = [];
  let hpa: JourneyResult['hpa'];
  try {
    await new Promise((r) => setTimeout(r, restSeconds * 1000));
    for (const [count, stage] of JOURNEY) {
      t0 = Date.now();
      await apply(journeySpec(count));
      await waitReady(stage);
      const ready = Date.now();
      log(`users ${count}: ${stage} Ready in ${((ready - t0) / 1000).toFixed(1)} s`);
      await running(stage);
      await checkPhotos(`users ${count} (${stage})`);
      if (stage === 'data-layer') await checkDataLayer();
      if (stage === 'load-balanced' && !hpa) hpa = await burst(node, name, ns, kubectl, timeline);
      await new Promise((r) => setTimeout(r, restSeconds * 1000));
      const all = requests();
      const during = all.filter((r) => r.t >= t0 && r.t < ready);
      const rest = all.filter((r) => r.t >= ready && r.t < Date.now());
      transitions.push({
        users: count,
        stage,
        secondsToReady: (ready - t0) / 1000,
        sent: during.length,
        failed: during.filter((r) => r.error !== undefined).length,
        p99Ms: p99(during.map((r) => r.ms)),
        restP99Ms: p99(rest.map((r) => r.ms)),
      });
    }
  } finally {
    loader.kill('SIGTERM');
    await loaderDone;
    collecting = false;
    await collector;
    timeline.stop();
    writeFileSync(join(dir, 'timeline.ndjson'), timeline.entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
  const load = JSON.parse(summary.trim().split('\n').at(-1) || '{}') as JourneyResult['load'];
  await checkPhotos('back at users 1');

  // 4. Delete the app and apply it again with the same name: its data is found again.
  const uid = (await app()).metadata.uid;
  await kubectl('delete', 'graminstaapp', name, '-n', ns, '--wait=true', '--timeout=180s');
  await waitFor('the old pods gone', 180_000, async () => (await kubectl('get', 'pods', '-n', ns, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'name')).trim() === '', 1000);
  t0 = Date.now();
  await apply(journeySpec(1));
  const again = await waitReady('single-machine');
  if (again.metadata.uid === uid) throw new Error('the app was not re-created');
  const secondsToReady = (Date.now() - t0) / 1000;
  const base2 = await apiURL();
  const expected = [...photos, ...loaderPhotos()];
  let found = 0;
  const missingAfterRecreate: string[] = [];
  for (const p of expected) {
    const img = await request(base2, 'GET', `/images/${p.key}`).catch(() => ({ status: 0, body: Buffer.alloc(0) }));
    if (img.status === 200 && sha256(img.body) === p.sha256) found++;
    else missingAfterRecreate.push(`photo ${p.id} ${p.key}: ${img.status}`);
  }
  const login = await request(base2, 'POST', '/api/v1/sessions', { json: { username: users[0]!.username, password: users[0]!.password } });
  return {
    transitions,
    load,
    photosChecked,
    photoProblems,
    stageProblems,
    hpa,
    recreate: { secondsToReady, photosFound: found, photosExpected: expected.length, loginWorks: login.status === 201 || login.status === 200 },
    errorLogs: [...errorLogs],
    missingAfterRecreate,
    restarts: [...timeline.restarts(), ...restartLogs],
    aroundFailures: (load.failures ?? []).slice(0, 5).flatMap((f) => [`failure at ${new Date(f.t).toISOString()} ${f.op}: ${f.status ?? f.error}`, ...timeline.around(f.t, 10_000).map((l) => `  ${l}`)]),
    dir,
  };
}

/** A bounded burst through the ingress at load-balanced: the HPA scales the API above its minimum, then back once the burst is over. */
async function burst(node: RealNode, name: string, ns: string, kubectl: (...a: string[]) => Promise<string>, timeline?: Timeline): Promise<NonNullable<JourneyResult['hpa']>> {
  // Without hosts in the spec the Ingress has one host-less rule (status.endpoints.api is empty): any Host reaches it.
  const endpoint = (JSON.parse(await kubectl('get', 'graminstaapp', name, '-n', ns, '-o', 'json')) as AppView).status?.endpoints?.api;
  const host = endpoint ? new URL(endpoint).host : `${name}.localtest.me`;
  const replicas = async () => Number((await kubectl('get', 'deployment', `${name}-api`, '-n', ns, '-o', 'jsonpath={.spec.replicas}')).trim() || 0);
  const burster = spawn(process.execPath, [join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), join(repoRoot, 'test/support/burst-load.ts'), `${node.ingressURL}/api/v1/users/alice`, host, '16', '60'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  burster.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<void>((resolve) => burster.on('exit', () => resolve()));
  let max = await replicas();
  await waitFor('the HPA to scale the API up', 90_000, async () => (max = Math.max(max, await replicas())) > 1, 2000).catch(() => undefined);
  await done;
  const result = JSON.parse(out) as { requests: number; non2xx: number; errors: number; resentOnReusedSocket: number; statuses: Record<string, number>; failures: { t: number; error: string }[] };
  console.log(`      burst: ${result.requests} requests, statuses ${JSON.stringify(result.statuses)}, ${result.errors} errors, ${result.resentOnReusedSocket} resent on a reused socket`);
  for (const f of result.failures) console.log(`        ${new Date(f.t).toISOString()} ${f.error}${timeline ? `\n          ${timeline.around(f.t, 5000).join('\n          ')}` : ''}`);
  let now = await replicas();
  await waitFor('the HPA to scale the API back down', 180_000, async () => (now = await replicas()) === 1, 2000).catch(() => undefined);
  return { maxReplicas: max, scaledBackTo: now, burstRequests: result.requests, burstFailures: result.non2xx + result.errors, resentOnReusedSocket: result.resentOnReusedSocket };
}
