// What the real-node end-to-end tests do with apps in their namespace: kubectl, apply a spec, wait for Ready, check
// that every pod runs, reach the app through the ingress controller.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Spec } from '../../hack/node/fit-app.js';
import { getCluster, repoRoot, waitFor, type TestCluster } from './cluster.js';
import type { OperatorProcess } from './operator-process.js';
import { httpRequest, type RequestOptions, type Response } from './http-request.js';
import { deleteRealNodeNamespace, podProblems, realNode, realNodeMissing, type RealNode } from './real-node.js';

/** The cluster and the real node, or the suite skipped (failed under GRAMINSTA_REQUIRE_REAL_NODE=1) when there is none. */
export async function realNodeOrSkip(ctx: Mocha.Context): Promise<{ cluster: TestCluster; node: RealNode }> {
  const missing = realNodeMissing();
  if (missing) {
    if (process.env.GRAMINSTA_REQUIRE_REAL_NODE === '1') throw new Error(`GRAMINSTA_REQUIRE_REAL_NODE=1 but ${missing}`);
    console.log(`      skipped: ${missing}`);
    ctx.skip();
  }
  return { cluster: await getCluster(), node: realNode() };
}

/** After a test: the operator's last logs when it failed, the operator stopped, the namespace deleted. */
export async function endRealNodeTest(ctx: Mocha.Context, operator: OperatorProcess | undefined, ns: string | undefined, logChars = 6000): Promise<void> {
  if (ctx.currentTest?.state === 'failed' && operator) console.error(operator.logs.join('').slice(-logChars));
  operator?.child.kill('SIGTERM');
  if (ns) await deleteRealNodeNamespace(ns);
}

/** The parts of a GraminstaApp the tests read. */
export interface AppView {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    stage?: string;
    conditions?: { type: string; status: string; reason: string; message?: string }[];
    database?: { lastBackup?: string };
  };
}

/** An HTTP request through the ingress controller, with the Host header the Ingress routes on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of several shapes, checked by the assertions
export async function viaIngress(node: RealNode, method: string, url: string, opts: RequestOptions & { host: string }): Promise<Omit<Response, 'json'> & { json: () => any }> {
  // Absolute URLs (upload slots, image URLs) name the app's host: only their path goes to the ingress, the host rides in Host.
  const target = new URL(url, 'http://placeholder');
  const res = await httpRequest(node.ingressURL, method, target.pathname + target.search, opts);
  return { ...res, json: () => res.json() };
}

/** The spec of an example under examples/. */
export function example(file: string): Spec {
  return (parse(readFileSync(join(repoRoot, 'examples', file), 'utf8')) as { spec: Spec }).spec;
}

/** The helpers of one test's namespace, read when called (the tests make a namespace per test). */
export function realNodeApps(cluster: () => TestCluster, node: () => RealNode, namespace: () => string) {
  const kubectl = async (...args: string[]) => {
    const res = await cluster().kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${res.stderr}`);
    return res.stdout;
  };
  const app = async (name: string): Promise<AppView> => JSON.parse(await kubectl('get', 'graminstaapp', name, '-n', namespace(), '-o', 'json')) as AppView;
  /** Waits until the app's status satisfies `check`, failing with the last status and the pods. */
  const waitApp = async (name: string, what: string, check: (a: AppView) => boolean, timeoutMs = 300_000) => {
    let last: AppView | undefined;
    await waitFor(`${name}: ${what}`, timeoutMs, async () => {
      last = await app(name);
      return check(last);
    }, 1000).catch(async (err: Error) => {
      const pods = await cluster().kubectl(['get', 'pods', '-n', namespace(), '-o', 'wide']);
      throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}\n${pods.stdout}`);
    });
    return last!;
  };
  const waitReady = (name: string, stage: string, timeoutMs = 300_000) =>
    waitApp(name, `Ready at stage ${stage}`, (a) => a.status?.observedGeneration === a.metadata.generation && a.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && a.status?.stage === stage, timeoutMs);
  /** Waits until every pod of the namespace runs as it should (probes may need a moment after Ready). */
  const allRunning = async () => {
    let problems: { pod: string; problem: string }[] = [];
    await waitFor('every pod running with no restarts', 120_000, async () => {
      problems = await podProblems(cluster(), namespace(), node().name);
      return problems.length === 0;
    }, 1000).catch(() => {
      throw new Error(`pods not running as they should: ${JSON.stringify(problems)}`);
    });
  };
  const applyApp = async (name: string, spec: Spec) => {
    const doc = { apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', metadata: { name, namespace: namespace() }, spec };
    const res = await cluster().kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(doc) });
    if (res.code !== 0) throw new Error(`applying ${name} failed: ${res.stderr}`);
  };
  const podOf = async (selector: string) => (await kubectl('get', 'pods', '-n', namespace(), '-l', selector, '-o', 'jsonpath={.items[0].metadata.name}')).trim();
  return { kubectl, app, waitApp, waitReady, allRunning, applyApp, podOf };
}
