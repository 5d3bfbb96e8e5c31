// Benchmarks the operator as a real process against a real API server: convergence time as a ratio to
// `kubectl apply --server-side` of the same rendered objects, API requests at rest, and RSS with many apps.
// Run: npx tsx bench/operator.bench.ts [--only convergence|steady|memory]   (sizes: see docs/benchmarks.md)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { GraminstaApp } from '../operator/api/types.gen.js';
import { DEFAULT_IMAGES } from '../operator/api/images.api.js';
import { renderApp, type RenderedObject } from '../operator/render/app.render.js';
import { planOf } from '../operator/render/plan.render.js';
import { AFTER_JOB_ANNOTATION, MANAGED_BY } from '../operator/render/names.render.js';
import { childKinds } from '../operator/reconcile/children.reconcile.js';
import { clusterDir, repoRoot } from '../test/support/cluster.js';
import { OPERATOR_NODE_FLAGS } from '../operator/config.js';
import { freePort } from '../test/support/local-process.js';
import { compileForBench } from './compile.js';

const STAGE_FILES: Record<string, string> = {
  '1': 'stage-1-single-machine.yaml',
  '2': 'stage-2-split-database.yaml',
  '3': 'stage-3-split-clients.yaml',
  '4': 'stage-4-load-balanced.yaml',
  '5': 'stage-5-cdn.yaml',
  '6': 'stage-6-data-layer.yaml',
};

/** Sizes and bounds of a bench run, read from the environment once. */
interface BenchConfig {
  convergenceApps: number;
  convergenceRuns: number;
  convergenceStages: string[];
  steadyApps: number;
  steadySeconds: number;
  steadyStages: string[];
  resyncSeconds: number;
  memoryApps: number;
  memoryStages: string[];
  /** Window at rest after the memory phase converged (0: none); the operator then resyncs every resyncSeconds. */
  memoryRestSeconds: number;
  /** Bound of each wait (apps converging, Ready, namespaces gone). */
  waitSeconds: number;
  /** Bound of the whole run. */
  timeoutSeconds: number;
  /** How the operator runs: compiled by tsc as the image runs it (dist), or from source through tsx. */
  operatorMode: 'dist' | 'tsx';
  /** Node.js flags added to the shipped ones, to try one before shipping it (GRAMINSTA_BENCH_NODE_FLAGS, space separated). */
  operatorExtraFlags: string[];
}

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: must be an integer >= ${min} (got "${raw}")`);
  return n;
}

function envStages(name: string, fallback: string): string[] {
  const stages = (process.env[name] || fallback).split(',').map((s) => s.trim());
  const bad = stages.filter((s) => !STAGE_FILES[s]);
  if (bad.length) throw new Error(`${name}: stages are 1 to 6, comma separated (got "${bad.join(',')}")`);
  return stages;
}

function operatorMode(raw: string): 'dist' | 'tsx' {
  if (raw !== 'dist' && raw !== 'tsx') throw new Error(`GRAMINSTA_BENCH_OPERATOR: must be dist or tsx (got "${raw}")`);
  return raw;
}

function nodeFlags(raw: string): string[] {
  const flags = raw.split(/\s+/).filter((f) => f !== '');
  const bad = flags.filter((f) => !f.startsWith('--'));
  if (bad.length) throw new Error(`GRAMINSTA_BENCH_NODE_FLAGS: space-separated flags starting with -- (got "${bad.join(' ')}")`);
  return flags;
}

function loadBenchConfig(): BenchConfig {
  const apps = envInt('GRAMINSTA_BENCH_APPS', 0, 1);
  return {
    convergenceApps: envInt('GRAMINSTA_BENCH_CONVERGENCE_APPS', apps || 50, 1),
    convergenceRuns: envInt('GRAMINSTA_BENCH_CONVERGENCE_RUNS', 3, 1),
    convergenceStages: envStages('GRAMINSTA_BENCH_CONVERGENCE_STAGES', '1'),
    steadyApps: envInt('GRAMINSTA_BENCH_STEADY_APPS', apps || 100, 1),
    steadySeconds: envInt('GRAMINSTA_BENCH_STEADY_SECONDS', 300, 1),
    steadyStages: envStages('GRAMINSTA_BENCH_STEADY_STAGES', '1'),
    resyncSeconds: envInt('GRAMINSTA_RESYNC_SECONDS', 30, 10),
    memoryApps: envInt('GRAMINSTA_BENCH_MEMORY_APPS', apps || 500, 1),
    memoryStages: envStages('GRAMINSTA_BENCH_MEMORY_STAGES', '1'),
    memoryRestSeconds: envInt('GRAMINSTA_BENCH_MEMORY_REST_SECONDS', 0, 0),
    waitSeconds: envInt('GRAMINSTA_BENCH_WAIT_SECONDS', 900, 10),
    timeoutSeconds: envInt('GRAMINSTA_BENCH_TIMEOUT_SECONDS', 3600, 60),
    operatorMode: operatorMode(process.env.GRAMINSTA_BENCH_OPERATOR || 'dist'),
    operatorExtraFlags: nodeFlags(process.env.GRAMINSTA_BENCH_NODE_FLAGS ?? ''),
  };
}

// ---- cluster, kubectl, namespaces -------------------------------------------------------------

/** The cluster under test and what the bench must undo at the end. */
interface Bench {
  kubeconfig: string;
  kc: k8s.KubeConfig;
  objects: k8s.KubernetesObjectApi;
  core: k8s.CoreV1Api;
  kubectlBin: string;
  startedCluster: boolean;
  namespaces: Set<string>;
  operators: Set<ChildProcess>;
  logDir: string;
  /** The node arguments that start the operator. */
  operatorArgs: string[];
}

function say(msg: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

function binDir(): string {
  return spawnSync('bash', [join(repoRoot, 'hack/build-control-plane.sh'), '--print-bin-dir'], { encoding: 'utf8' }).stdout.trim();
}

// The local control plane hack/cluster-up.sh starts: the same variables choose its directory (clusterDir) and ports.
const localApiPort = Number(process.env.GRAMINSTA_CLUSTER_PORT_BASE ?? '16440') + 3;

async function localApiAnswers(): Promise<boolean> {
  const r = spawnSync('curl', ['-sk', '--max-time', '3', `https://127.0.0.1:${localApiPort}/readyz`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'ok';
}

async function openBench(mode: 'dist' | 'tsx', extraFlags: string[]): Promise<Bench> {
  // The operator runs with the Node.js flags it ships with (Dockerfile.operator), plus any under trial.
  const operatorArgs = [...OPERATOR_NODE_FLAGS, ...extraFlags, ...(mode === 'dist' ? compileForBench(['operator/main.ts'], say) : ['--import', 'tsx', join(repoRoot, 'operator/main.ts')])];
  let kubeconfig = process.env.KUBECONFIG;
  let startedCluster = false;
  const local = join(clusterDir, 'admin.kubeconfig');
  if (!kubeconfig) {
    if ((await localApiAnswers()) && existsSync(local)) {
      kubeconfig = local;
      say(`reusing the local control plane that is already up (${local}); it stays up`);
    } else {
      say('starting the local control plane (hack/cluster-up.sh)');
      const up = spawnSync('bash', [join(repoRoot, 'hack/cluster-up.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (up.status !== 0) throw new Error(`hack/cluster-up.sh failed with exit code ${up.status}`);
      kubeconfig = up.stdout.trim().split('\n').pop()!;
      startedCluster = true;
    }
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const built = join(binDir(), 'kubectl');
  const bench: Bench = {
    kubeconfig,
    kc,
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
    core: kc.makeApiClient(k8s.CoreV1Api),
    kubectlBin: existsSync(built) ? built : 'kubectl',
    startedCluster,
    namespaces: new Set(),
    operators: new Set(),
    logDir: mkdtempSync(join(tmpdir(), 'graminsta-bench-')),
    operatorArgs,
  };
  const crds = await kubectl(bench, ['apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crds')]);
  if (crds.code !== 0) throw new Error(`installing the CRDs failed: ${crds.stderr}`);
  const est = await kubectl(bench, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/graminstaapps.graminsta.io']);
  if (est.code !== 0) throw new Error(`the GraminstaApp CRD did not become Established: ${est.stderr}`);
  return bench;
}

function kubectl(bench: Bench, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bench.kubectlBin, ['--kubeconfig', bench.kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Creates a namespace; with noPods a ResourceQuota of zero pods keeps the workloads from making any. */
async function createNamespace(bench: Bench, prefix: string, noPods: boolean): Promise<string> {
  const name = `bench-${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  await bench.core.createNamespace({ body: { metadata: { name, labels: { 'graminsta.io/bench': 'true' } } } });
  bench.namespaces.add(name);
  if (noPods) {
    await bench.core.createNamespacedResourceQuota({ namespace: name, body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } } });
  }
  return name;
}

async function deleteNamespaces(bench: Bench, names: string[], waitMs: number): Promise<void> {
  await Promise.all(names.map((name) => bench.core.deleteNamespace({ name }).catch(() => undefined)));
  for (const name of names) bench.namespaces.delete(name);
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const left = await Promise.all(names.map((name) => bench.core.readNamespace({ name }).then(() => true, () => false)));
    if (!left.some(Boolean)) return;
    await sleep(1000);
  }
  say(`namespaces still terminating after ${Math.round(waitMs / 1000)} s: ${names.join(' ')} (continuing)`);
}

// ---- apps and their rendered children ---------------------------------------------------------

function exampleSpec(stage: string): GraminstaApp['spec'] {
  return (parse(readFileSync(join(repoRoot, 'examples', STAGE_FILES[stage]!), 'utf8')) as GraminstaApp).spec;
}

/** n apps named app-000.., cycling through stages, in namespace. */
function makeApps(n: number, stages: string[], namespace: string): GraminstaApp[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: 'graminsta.io/v1alpha1',
    kind: 'GraminstaApp',
    metadata: { name: `app-${String(i).padStart(3, '0')}`, namespace },
    spec: exampleSpec(stages[i % stages.length]!),
  }));
}

/** Every object the operator renders for apps, with generated passwords filled with fixed strings. */
function renderAll(apps: GraminstaApp[]): RenderedObject[] {
  return apps.flatMap((app) =>
    renderApp(planOf(app, DEFAULT_IMAGES), { existingSecrets: {}, generatePassword: (name) => `bench-fixed-${name.replace(/\W/g, '-')}` }),
  );
}

function yamlStream(objects: object[]): string {
  return objects.map((o) => `---\n${stringify(o, { aliasDuplicateObjects: false, lineWidth: 0 })}`).join('');
}

const keyOf = (o: k8s.KubernetesObject) => `${o.kind}/${o.metadata?.name}`;

/** Lists the managed objects of the given kinds in a namespace and returns their Kind/name keys. */
async function liveKeys(bench: Bench, namespace: string, kinds: string[]): Promise<Set<string>> {
  const keys = new Set<string>();
  await Promise.all(
    kinds.map(async (kind) => {
      const info = childKinds.find((k) => k.kind === kind);
      if (!info) throw new Error(`rendered kind ${kind} is not a child kind the operator watches`);
      const list = await bench.objects.list(info.apiVersion, kind, namespace, undefined, undefined, undefined, undefined, `app.kubernetes.io/managed-by=${MANAGED_BY}`);
      for (const item of list.items) keys.add(`${kind}/${item.metadata?.name}`);
    }),
  );
  return keys;
}

/** Objects whose creation waits for a Job (the API Deployment of an app with a migrate Job). */
const isGated = (o: k8s.KubernetesObject) => !!o.metadata?.annotations?.[AFTER_JOB_ANNOTATION];

/**
 * Polls until every expected object exists, or with ungatedOnly every object not gated on a Job (a
 * namespace with a zero-pod quota runs no Job); resolves the seconds from t0 until the ungated ones and
 * all of them existed (all: undefined with ungatedOnly).
 */
async function waitForObjects(
  bench: Bench,
  namespace: string,
  expected: RenderedObject[],
  t0: number,
  timeoutMs: number,
  ungatedOnly = false,
  pollMs = 100,
): Promise<{ ungated: number; all: number | undefined }> {
  const kinds = [...new Set(expected.map((o) => o.kind!))];
  const ungated = expected.filter((o) => !isGated(o)).map(keyOf);
  const all = (ungatedOnly ? expected.filter((o) => !isGated(o)) : expected).map(keyOf);
  let ungatedAt: number | undefined;
  let missing: string[] = all;
  while (performance.now() - t0 < timeoutMs) {
    const live = await liveKeys(bench, namespace, kinds);
    const now = performance.now();
    if (ungatedAt === undefined && ungated.every((k) => live.has(k))) ungatedAt = now;
    missing = all.filter((k) => !live.has(k));
    if (missing.length === 0) return { ungated: (ungatedAt! - t0) / 1000, all: ungatedOnly ? undefined : (now - t0) / 1000 };
    await sleep(pollMs);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${missing.length} of ${all.length} objects in ${namespace}, e.g. ${missing.slice(0, 5).join(', ')}`);
}

// ---- the operator process and its metrics -----------------------------------------------------

/** An operator process started by the bench. */
interface OperatorProcess {
  child: ChildProcess;
  pid: number;
  metricsUrl: string;
  identity: string;
  log: string;
}

async function startOperator(bench: Bench, watchNamespace: string, resyncSeconds: number, label: string): Promise<OperatorProcess> {
  const port = await freePort();
  const identity = `graminsta-bench-${label}-${process.pid}`;
  const log = join(bench.logDir, `operator-${label}.log`);
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, bench.operatorArgs, {
    cwd: repoRoot,
    env: {
      ...process.env,
      KUBECONFIG: bench.kubeconfig,
      WATCH_NAMESPACE: watchNamespace,
      GRAMINSTA_LEADER_ELECT: 'false',
      GRAMINSTA_HTTP_HOST: '127.0.0.1',
      GRAMINSTA_HTTP_PORT: String(port),
      GRAMINSTA_RESYNC_SECONDS: String(resyncSeconds),
      POD_NAME: identity,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', out, out],
  });
  bench.operators.add(child);
  const op = { child, pid: child.pid!, metricsUrl: `http://127.0.0.1:${port}/metrics`, identity, log };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the operator exited with code ${child.exitCode} before it was ready; its log: ${log}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ready) return op;
    if (Date.now() > deadline) throw new Error(`the operator was not ready after 120 s; its log: ${log}`);
    await sleep(250);
  }
}

async function stopOperator(bench: Bench, op: OperatorProcess): Promise<void> {
  bench.operators.delete(op.child);
  if (op.child.exitCode !== null) return;
  const exited = new Promise((resolve) => op.child.once('exit', resolve));
  op.child.kill('SIGTERM');
  if ((await Promise.race([exited, sleep(15_000, 'timeout')])) === 'timeout') op.child.kill('SIGKILL');
}

/** One sample of a Prometheus text exposition. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(op: OperatorProcess): Promise<Sample[]> {
  const res = await fetch(op.metricsUrl, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${op.metricsUrl}: HTTP ${res.status}`);
  const samples: Sample[] = [];
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

function sum(samples: Sample[], name: string, where: (l: Record<string, string>) => boolean = () => true): number {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((n, s) => n + s.value, 0);
}

/** rest_client_requests_total by "METHOD code". */
function requestsBy(samples: Sample[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples.filter((x) => x.name === 'rest_client_requests_total')) out.set(`${s.labels.method} ${s.labels.code}`, s.value);
  return out;
}

const writesOf = (samples: Sample[]) => sum(samples, 'rest_client_requests_total', (l) => l.method !== 'GET');

/**
 * The p99 of controller_runtime_reconcile_time_seconds over the reconciles between two scrapes, as the
 * upper bound of the histogram bucket it falls in (Prometheus's histogram_quantile without interpolation).
 */
function reconcileP99(before: Sample[], after: Sample[]): { count: number; seconds: number | undefined } {
  const buckets = (samples: Sample[]) =>
    new Map(samples.filter((s) => s.name === 'controller_runtime_reconcile_time_seconds_bucket').map((s) => [s.labels.le!, s.value] as const));
  const b = buckets(before);
  const deltas = [...buckets(after)]
    .map(([le, v]) => [le === '+Inf' ? Infinity : Number(le), v - (b.get(le) ?? 0)] as const)
    .sort((x, y) => x[0] - y[0]);
  const count = deltas.at(-1)?.[1] ?? 0;
  if (!count) return { count: 0, seconds: undefined };
  return { count, seconds: deltas.find(([, v]) => v >= 0.99 * count)![0] };
}

const formatP99 = (p: { count: number; seconds: number | undefined }) =>
  p.seconds === undefined ? 'no reconciles' : `<= ${p.seconds === Infinity ? '+Inf' : p.seconds} s (${p.count} reconciles)`;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kb / 1024;
}

/** Events in namespace reported by another instance than the operator under test: another operator reconciled these apps. */
async function foreignEvents(bench: Bench, namespace: string, identity: string): Promise<number> {
  const list = await bench.objects.list('events.k8s.io/v1', 'Event', namespace);
  return list.items.filter((e) => {
    const ev = e as { reportingController?: string; reportingInstance?: string };
    return ev.reportingController?.startsWith('graminsta.io/') && ev.reportingInstance !== identity;
  }).length;
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>, intervalMs = 1000): Promise<number> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(intervalMs);
  }
  return (performance.now() - t0) / 1000;
}

/** What the operator did in a window at rest. */
interface Rest {
  reads: number;
  writes: number;
  reconciles: number;
  p99: { count: number; seconds: number | undefined };
}

/**
 * Waits until the operator's write counter stayed still for one resync period plus 5 s, then counts its
 * requests, reconciles and reconcile p99 over windowSeconds and prints them.
 */
async function restWindow(op: OperatorProcess, resyncSeconds: number, windowSeconds: number, waitSeconds: number, apps: number): Promise<Rest> {
  let last = writesOf(await scrape(op));
  let since = performance.now();
  await until('the write counter to stay still for one resync period', waitSeconds * 1000, async () => {
    const w = writesOf(await scrape(op));
    if (w !== last) {
      last = w;
      since = performance.now();
    }
    return performance.now() - since > (resyncSeconds + 5) * 1000;
  });
  const before = await scrape(op);
  say(`  writes stable; measuring at rest for ${windowSeconds} s (uptime: ${uptime()})`);
  await sleep(windowSeconds * 1000);
  const after = await scrape(op);
  const b = requestsBy(before);
  const diff = [...requestsBy(after)].map(([k, v]) => [k, v - (b.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
  const reads = diff.filter(([k]) => k.startsWith('GET ')).reduce((s, [, v]) => s + v, 0);
  const writes = diff.filter(([k]) => !k.startsWith('GET ')).reduce((s, [, v]) => s + v, 0);
  const reconciles = sum(after, 'controller_runtime_reconcile_total') - sum(before, 'controller_runtime_reconcile_total');
  const p99 = reconcileP99(before, after);
  say(`  requests in ${windowSeconds} s at rest by method and code: ${diff.length ? diff.map(([k, v]) => `${k}: ${v}`).join(', ') : 'none'}; writes: ${writes}`);
  say(`  reconciles in the window: ${reconciles} (${apps} apps x ${Math.floor(windowSeconds / resyncSeconds)} resyncs expected at least); p99 ${formatP99(p99)} (uptime: ${uptime()})`);
  return { reads, writes, reconciles, p99 };
}

/** The load averages, as `uptime` prints them: figures on the shared machine are read against them. */
function uptime(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(', ');
}

async function applyApps(bench: Bench, namespace: string, apps: GraminstaApp[]): Promise<void> {
  const r = await kubectl(bench, ['apply', '--server-side', '-n', namespace, '-f', '-'], yamlStream(apps));
  if (r.code !== 0) throw new Error(`kubectl apply of ${apps.length} GraminstaApps failed: ${r.stderr}`);
}

// ---- the three benchmarks ---------------------------------------------------------------------

/** One row of the summary table. */
interface Row {
  figure: string;
  value: string;
  target: string;
  met: boolean | undefined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function convergence(bench: Bench, cfg: BenchConfig): Promise<Row[]> {
  const n = cfg.convergenceApps;
  const probe = renderAll(makeApps(n, cfg.convergenceStages, 'probe'));
  const gatedCount = probe.filter(isGated).length;
  const ungatedCount = probe.length - gatedCount;
  // Zero-pod quota: no pod runs, so no Job succeeds and the objects gated on one are never created.
  // Both sides are timed on the same ungated objects: kubectl applies those, the operator creates those.
  say(`convergence: ${n} apps (stages ${cfg.convergenceStages.join(',')}), ${probe.length} rendered objects of which ${gatedCount} wait for a Job and are not counted; ${cfg.convergenceRuns} runs alternating; namespaces with a zero-pod quota`);
  const kubectlTimes: number[] = [];
  const operatorTimes: number[] = [];
  const timeoutMs = cfg.waitSeconds * 1000;
  for (let run = 0; run < cfg.convergenceRuns; run++) {
    const order = run % 2 === 0 ? ['kubectl', 'operator'] : ['operator', 'kubectl'];
    for (const side of order) {
      const ns = await createNamespace(bench, side === 'kubectl' ? 'conv-kubectl' : 'conv-op', true);
      const apps = makeApps(n, cfg.convergenceStages, ns);
      const expected = renderAll(apps).filter((o) => !isGated(o));
      if (side === 'kubectl') {
        const stream = yamlStream(expected);
        const t0 = performance.now();
        const applying = kubectl(bench, ['apply', '--server-side', '-n', ns, '-f', '-'], stream);
        const seen = await waitForObjects(bench, ns, expected, t0, timeoutMs);
        const r = await applying;
        if (r.code !== 0) throw new Error(`kubectl apply --server-side of ${expected.length} objects failed: ${r.stderr}`);
        const t = Math.max(seen.all!, (performance.now() - t0) / 1000);
        kubectlTimes.push(t);
        say(`  run ${run + 1} kubectl apply --server-side: ${expected.length} objects in ${t.toFixed(2)} s`);
      } else {
        const op = await startOperator(bench, ns, 600, `convergence-${run + 1}`);
        try {
          const t0 = performance.now();
          await applyApps(bench, ns, apps);
          const seen = await waitForObjects(bench, ns, expected, t0, timeoutMs);
          operatorTimes.push(seen.ungated);
          const foreign = await foreignEvents(bench, ns, op.identity);
          if (foreign) say(`  WARNING: ${foreign} Events in ${ns} come from another graminsta operator: it reconciled these apps too`);
          const requests = requestsBy(await scrape(op));
          say(`  run ${run + 1} operator requests: ${[...requests].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
          say(`  run ${run + 1} operator: ${n} apps -> ${expected.length} objects in ${seen.ungated.toFixed(2)} s`);
        } finally {
          await stopOperator(bench, op);
        }
      }
      await deleteNamespaces(bench, [ns], 180_000);
    }
  }
  const k = median(kubectlTimes);
  const o = median(operatorTimes);
  const ratio = o / k;
  say(`convergence medians: kubectl ${k.toFixed(2)} s, operator ${o.toFixed(2)} s -> ratio ${ratio.toFixed(2)}x`);
  const counted = gatedCount ? `${ungatedCount} objects not gated on a Job` : `${probe.length} objects`;
  return [
    { figure: `convergence, ${n} apps (${counted}), kubectl apply --server-side`, value: `${k.toFixed(2)} s`, target: '', met: undefined },
    { figure: `convergence, ${n} apps, operator`, value: `${o.toFixed(2)} s`, target: '', met: undefined },
    { figure: 'convergence ratio operator / kubectl', value: `${ratio.toFixed(2)}x`, target: '<= 1.0x', met: ratio <= 1.0 },
  ];
}

async function steady(bench: Bench, cfg: BenchConfig): Promise<Row[]> {
  const n = cfg.steadyApps;
  const ns = await createNamespace(bench, 'steady', false);
  const op = await startOperator(bench, ns, cfg.resyncSeconds, 'steady');
  try {
    const apps = makeApps(n, cfg.steadyStages, ns);
    say(`steady state: ${n} apps (stages ${cfg.steadyStages.join(',')}), resync every ${cfg.resyncSeconds} s, window ${cfg.steadySeconds} s`);
    await applyApps(bench, ns, apps);
    let notReady: string[] = [];
    const readyAfter = await until(`all ${n} apps Ready`, cfg.waitSeconds * 1000, async () => {
      const list = await bench.objects.list('graminsta.io/v1alpha1', 'GraminstaApp', ns);
      notReady = list.items
        .filter((a) => {
          const app = a as GraminstaApp;
          const ready = app.status?.conditions?.find((c) => c.type === 'Ready');
          return !(ready?.status === 'True' && app.status?.observedGeneration === app.metadata.generation);
        })
        .map((a) => a.metadata!.name!);
      return list.items.length === n && notReady.length === 0;
    }, 2000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; not Ready: ${notReady.slice(0, 10).join(' ')}`, { cause: err });
    });
    say(`  all ${n} apps Ready after ${readyAfter.toFixed(0)} s`);
    const rest = await restWindow(op, cfg.resyncSeconds, cfg.steadySeconds, cfg.waitSeconds, n);
    const foreign = await foreignEvents(bench, ns, op.identity);
    if (foreign) say(`  WARNING: ${foreign} Events in ${ns} come from another graminsta operator: it reconciled these apps too`);
    return [
      { figure: `steady state, ${n} apps, ${cfg.steadySeconds} s: reads (GET)`, value: String(rest.reads), target: '', met: undefined },
      { figure: `steady state: reconciles in the window (resync ${cfg.resyncSeconds} s)`, value: String(rest.reconciles), target: '', met: undefined },
      { figure: 'steady state: writes', value: String(rest.writes), target: '0', met: rest.writes === 0 },
      { figure: 'steady state: reconcile duration p99 (at rest)', value: formatP99(rest.p99), target: '', met: undefined },
    ];
  } finally {
    await stopOperator(bench, op);
    await deleteNamespaces(bench, [ns], 180_000);
  }
}

/** How often the memory phase lists the objects while it waits for them (its time figure is this coarse). */
const MEMORY_POLL_MS = 5000;

async function memory(bench: Bench, cfg: BenchConfig): Promise<Row[]> {
  const n = cfg.memoryApps;
  const ns = await createNamespace(bench, 'memory', true);
  // With a window at rest the operator resyncs as in the steady phase, so that the window holds resyncs.
  const resync = cfg.memoryRestSeconds ? cfg.resyncSeconds : 600;
  const op = await startOperator(bench, ns, resync, 'memory');
  try {
    await sleep(5000);
    const idle = rssMiB(op.pid);
    const idleHeap = (sum(await scrape(op), 'nodejs_heap_size_used_bytes') / 1024 / 1024).toFixed(1);
    const apps = makeApps(n, cfg.memoryStages, ns);
    const expected = renderAll(apps);
    const gated = expected.filter(isGated).length;
    const ungated = expected.length - gated;
    say(`memory: ${n} apps (stages ${cfg.memoryStages.join(',')}), ${expected.length} rendered objects (${gated} wait for a Job, which the zero-pod quota never lets run); resync ${resync} s; idle operator RSS ${idle.toFixed(1)} MiB (uptime: ${uptime()})`);
    const beforeApply = await scrape(op);
    const t0 = performance.now();
    await applyApps(bench, ns, apps);
    // Listed every 5 s, not every 100 ms as in the convergence phase: with thousands of apps each list of every
    // kind takes seconds, and back-to-back lists loaded the API server more than the operator did.
    const seen = await waitForObjects(bench, ns, expected, t0, cfg.waitSeconds * 1000, true, MEMORY_POLL_MS);
    say(`  all ${ungated} objects not gated on a Job exist after ${seen.ungated.toFixed(1)} s (uptime: ${uptime()})`);
    let samples: Sample[] = [];
    const settled = await until(`${n} reconciles and an empty work queue`, cfg.waitSeconds * 1000, async () => {
      samples = await scrape(op);
      return sum(samples, 'controller_runtime_reconcile_total') >= n && sum(samples, 'workqueue_depth') === 0;
    });
    say(`  reconciles: ${sum(samples, 'controller_runtime_reconcile_total')}, queue empty ${settled.toFixed(0)} s after the objects existed`);
    const rss: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(2000);
      rss.push(rssMiB(op.pid));
    }
    const last = await scrape(op);
    const mib = (name: string) => (sum(last, name) / 1024 / 1024).toFixed(1);
    const peak = Math.max(...rss);
    say(`  RSS samples (VmRSS) ${rss.map((r) => r.toFixed(1)).join(' ')} MiB; process_resident_memory_bytes ${mib('process_resident_memory_bytes')} MiB, V8 heap used ${mib('nodejs_heap_size_used_bytes')} of ${mib('nodejs_heap_size_total_bytes')} MiB (idle: ${idleHeap} MiB used), external ${mib('nodejs_external_memory_bytes')} MiB`);
    const requests = requestsBy(last);
    say(`  requests to reach this point: ${[...requests].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    const p99 = reconcileP99(beforeApply, last);
    say(`  reconcile p99 during the apply: ${formatP99(p99)} (uptime: ${uptime()})`);
    const objects = gated ? `${ungated} objects + ${gated} gated on a Job` : `${expected.length} objects`;
    const rows: Row[] = [
      { figure: 'memory: idle operator RSS (0 apps)', value: `${idle.toFixed(1)} MiB`, target: '', met: undefined },
      { figure: `memory: operator RSS with ${n} apps (${objects}) reconciled`, value: `${peak.toFixed(1)} MiB`, target: '<= 300 MiB', met: peak <= 300 },
      { figure: `memory: time from apply to all ${ungated} ungated objects`, value: `${seen.ungated.toFixed(1)} s`, target: '', met: undefined },
      { figure: `memory: reconcile duration p99 during the ${n}-app apply`, value: formatP99(p99), target: '', met: undefined },
    ];
    if (cfg.memoryRestSeconds) {
      const rest = await restWindow(op, resync, cfg.memoryRestSeconds, cfg.waitSeconds, n);
      const restRss = rssMiB(op.pid);
      say(`  RSS (VmRSS) at the end of the window at rest ${restRss.toFixed(1)} MiB`);
      rows.push(
        { figure: `memory: operator RSS after ${cfg.memoryRestSeconds} s at rest`, value: `${restRss.toFixed(1)} MiB`, target: '<= 300 MiB', met: restRss <= 300 },
        { figure: `memory: at rest ${cfg.memoryRestSeconds} s: reads (GET), reconciles`, value: `${rest.reads}, ${rest.reconciles}`, target: '', met: undefined },
        { figure: `memory: at rest ${cfg.memoryRestSeconds} s: writes`, value: String(rest.writes), target: '0', met: rest.writes === 0 },
        { figure: 'memory: reconcile duration p99 at rest', value: formatP99(rest.p99), target: '', met: undefined },
      );
    }
    return rows;
  } finally {
    await stopOperator(bench, op);
    await deleteNamespaces(bench, [ns], 300_000);
  }
}

// ---- main ---------------------------------------------------------------------------------------

async function cleanup(bench: Bench): Promise<void> {
  for (const child of bench.operators) {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  if (bench.namespaces.size) await deleteNamespaces(bench, [...bench.namespaces], 60_000);
  if (bench.startedCluster) spawnSync('bash', [join(repoRoot, 'hack/cluster-down.sh')], { stdio: 'inherit' });
}

function printSummary(rows: Row[]): void {
  const w = Math.max(...rows.map((r) => r.figure.length));
  console.log('\nsummary');
  console.log(`${'figure'.padEnd(w)}  ${'value'.padStart(12)}  target`);
  for (const r of rows) {
    const mark = r.met === undefined ? '' : r.met ? ' met' : ' MISSED';
    console.log(`${r.figure.padEnd(w)}  ${r.value.padStart(12)}  ${r.target}${mark}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' } } });
  const parts = ['convergence', 'steady', 'memory'];
  if (values.only && !parts.includes(values.only)) throw new Error(`--only: must be one of ${parts.join(', ')} (got "${values.only}")`);
  const cfg = loadBenchConfig();
  const bench = await openBench(cfg.operatorMode, cfg.operatorExtraFlags);
  say(`cluster ${bench.kc.getCurrentCluster()?.server}; operator: node ${bench.operatorArgs.join(' ')}; logs in ${bench.logDir}; 2 shared cores, figures vary with the load of other users`);
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${cfg.timeoutSeconds} s (GRAMINSTA_BENCH_TIMEOUT_SECONDS); stopping`);
    void cleanup(bench).finally(() => process.exit(1));
  }, cfg.timeoutSeconds * 1000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup(bench).finally(() => process.exit(130)));
  const rows: Row[] = [];
  try {
    if (!values.only || values.only === 'convergence') rows.push(...(await convergence(bench, cfg)));
    if (!values.only || values.only === 'steady') rows.push(...(await steady(bench, cfg)));
    if (!values.only || values.only === 'memory') rows.push(...(await memory(bench, cfg)));
  } finally {
    clearTimeout(watchdog);
    await cleanup(bench);
  }
  printSummary(rows);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench failed:', err);
    process.exit(1);
  },
);
