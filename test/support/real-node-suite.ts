// What the real-node end-to-end suites share: the skip rule, the operator process and namespace of each test, kubectl,
// applying an app fitted to the node and waiting for it, requests through the node's ingress fixture, and a photo's
// round trip through the API (sign up, upload slot, upload, post, fetch the image back).
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { getCluster, repoRoot, waitFor, type TestCluster } from './cluster.js';
import { httpRequest, type RequestOptions, type Response } from './http-request.js';
import { startOperatorProcess, type OperatorProcess } from './operator-process.js';
import { createRealNodeNamespace, deleteRealNodeNamespace, imageSettings, podProblems, readyPods, realNode, realNodeMissing, type RealNode } from './real-node.js';
import type { Spec } from '../../hack/node/fit-app.js';

/** The part of a GraminstaApp the suites read. */
export interface AppView {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    stage?: string;
    conditions?: { type: string; status: string; reason: string; message?: string }[];
    database?: { lastBackup?: string };
  };
}

/** A response whose JSON body the assertions read in several shapes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies of several shapes, checked by the assertions
export type LooseResponse = Omit<Response, 'json'> & { json: () => any };

/** An HTTP request through the node's ingress fixture (its Ingresses and Gateways), with the Host header the routes match. */
export async function viaIngress(node: RealNode, method: string, url: string, opts: RequestOptions & { host: string }): Promise<LooseResponse> {
  // Absolute URLs (upload slots, image URLs) name the app's host: only their path goes to the ingress, the host rides in Host.
  const target = new URL(url, 'http://placeholder');
  const res = await httpRequest(node.ingressURL, method, target.pathname + target.search, opts);
  return { ...res, json: () => res.json() };
}

/** The sha256 of a body, hex. */
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The spec of examples/<file>. */
export function example(file: string): Spec {
  return (parse(readFileSync(join(repoRoot, 'examples', file), 'utf8')) as { spec: Spec }).spec;
}

/** A function that sends one request to the API (through an ingress, or to its Service). */
export type ApiCall = (method: string, url: string, opts?: RequestOptions) => Promise<LooseResponse>;

/** Signs a user up and returns the bearer token. */
export async function signUp(call: ApiCall, username: string): Promise<string> {
  const res = await call('POST', '/api/v1/users', { json: { username, password: 'correct horse battery' } });
  expect(res.status, `signing ${username} up: ${res.body.toString().slice(0, 300)}`).to.equal(201);
  return res.json().token as string;
}

/** Uploads `image` (a PNG) through the API's upload slot and posts it with `caption`; resolves with the new photo. */
export async function postPhoto(call: ApiCall, token: string, image: Buffer, caption: string): Promise<{ id: number; imageUrl: string }> {
  const up = await call('POST', '/api/v1/uploads', { token, json: { contentType: 'image/png', size: image.length } });
  expect(up.status, up.body.toString()).to.equal(201);
  const slot = up.json();
  const put = await call('PUT', slot.url, { token, raw: image, headers: slot.headers });
  expect(put.status, `uploading ${image.length} bytes: ${put.body.toString().slice(0, 300)}`).to.be.oneOf([200, 204]);
  const created = await call('POST', '/api/v1/photos', { token, json: { uploadId: slot.uploadId, caption } });
  expect(created.status, created.body.toString()).to.equal(201);
  return created.json().photo as { id: number; imageUrl: string };
}

/**
 * The state of one real-node test: the cluster, the node, the namespace and operator process it runs in (gone after
 * each test), and the helpers that read them. `register` installs the before/afterEach hooks on the suite.
 */
export class RealNodeSuite {
  cluster!: TestCluster;
  node!: RealNode;
  operator: OperatorProcess | undefined;
  ns: string | undefined;

  /** Skips the suite without a real node (fails instead under GRAMINSTA_REQUIRE_REAL_NODE=1); cleans up after each test. */
  register(): this {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the hooks run with mocha's `this`
    const suite = this;
    before(async function () {
      const missing = realNodeMissing();
      if (missing) {
        if (process.env.GRAMINSTA_REQUIRE_REAL_NODE === '1') throw new Error(`GRAMINSTA_REQUIRE_REAL_NODE=1 but ${missing}`);
        console.log(`      skipped: ${missing}`);
        this.skip();
      }
      suite.cluster = await getCluster();
      suite.node = realNode();
    });
    afterEach(async function () {
      if (this.currentTest?.state === 'failed' && suite.operator) console.error(suite.operator.logs.join('').slice(-6000));
      suite.operator?.child.kill('SIGTERM');
      suite.operator = undefined;
      if (suite.ns) await deleteRealNodeNamespace(suite.ns);
      suite.ns = undefined;
    });
    return this;
  }

  /** A namespace on the real node and an operator process watching it, with the images built here (and `env`). */
  async start(prefix: string, operatorName: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
    this.ns = await createRealNodeNamespace(prefix);
    this.operator = await startOperatorProcess(operatorName, this.ns, { ...imageSettings(this.node), ...env });
    return this.ns;
  }

  /** kubectl; rejects with its stderr on a non-zero exit. */
  async kubectl(...args: string[]): Promise<string> {
    const res = await this.cluster.kubectl(args);
    if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${res.stderr}`);
    return res.stdout;
  }

  /** kubectl apply --server-side of one object given as JSON. */
  async applyObject(doc: object): Promise<void> {
    const res = await this.cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(doc) });
    if (res.code !== 0) throw new Error(`applying ${JSON.stringify(doc).slice(0, 120)} failed: ${res.stderr}`);
  }

  async app(name: string): Promise<AppView> {
    return JSON.parse(await this.kubectl('get', 'graminstaapp', name, '-n', this.ns!, '-o', 'json')) as AppView;
  }

  async applyApp(name: string, spec: Spec): Promise<void> {
    await this.applyObject({ apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', metadata: { name, namespace: this.ns }, spec });
  }

  /** Waits until the app's status satisfies `check`, failing with the last status and the pods. */
  async waitApp(name: string, what: string, check: (a: AppView) => boolean, timeoutMs = 300_000): Promise<AppView> {
    let last: AppView | undefined;
    await waitFor(`${name}: ${what}`, timeoutMs, async () => {
      last = await this.app(name);
      return check(last);
    }, 1000).catch(async (err: Error) => {
      const pods = await this.cluster.kubectl(['get', 'pods', '-n', this.ns!, '-o', 'wide']);
      throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}\n${pods.stdout}`);
    });
    return last!;
  }

  /** Waits for Ready=True at `stage` for the app's current generation. */
  async waitReady(name: string, stage: string, timeoutMs = 300_000): Promise<AppView> {
    return this.waitApp(name, `Ready at stage ${stage}`, (a) => a.status?.observedGeneration === a.metadata.generation && a.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && a.status?.stage === stage, timeoutMs);
  }

  /** Waits until every pod of the namespace runs as it should (probes may need a moment after Ready). */
  async allRunning(): Promise<void> {
    let problems: { pod: string; problem: string }[] = [];
    await waitFor('every pod running with no restarts', 120_000, async () => {
      problems = await podProblems(this.cluster, this.ns!, this.node.name);
      return problems.length === 0;
    }, 1000).catch(() => {
      throw new Error(`pods not running as they should: ${JSON.stringify(problems)}`);
    });
  }

  /** The name of a ready pod matching the label selector (the first by name): an HPA may just have added one that is not up yet. */
  async podOf(selector: string): Promise<string> {
    const [ready] = await readyPods(this.cluster, this.ns!, selector);
    if (!ready) throw new Error(`no ready pod matches ${selector} in ${this.ns}: ${(await this.kubectl('get', 'pods', '-n', this.ns!, '-l', selector, '-o', 'name')).trim() || 'none'}`);
    return ready;
  }

  /** Requests to the API through the node's ingress with Host `host`. */
  apiVia(host: string): ApiCall {
    return (method, url, opts = {}) => viaIngress(this.node, method, url, { ...opts, host });
  }
}
