// The integration harness: a real Kubernetes API server for the suites, either the cluster that
// $KUBECONFIG names (kind, or the one hack/test.sh started) or a local control plane started here.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, existsSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';

/** The repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The local control plane's directory, as hack/cluster-up.sh chooses it (GRAMINSTA_CLUSTER_DIR, else .cluster). */
export const clusterDir = process.env.GRAMINSTA_CLUSTER_DIR ?? join(repoRoot, '.cluster');
const localKubeconfig = join(clusterDir, 'admin.kubeconfig');

/** What a test gets from the harness. */
export interface TestCluster {
  kubeconfigPath: string;
  kc: k8s.KubeConfig;
  /** True when the cluster is the local control plane, whose processes the harness can restart. */
  local: boolean;
  kubectl(args: string[], opts?: { input?: string }): Promise<CommandResult>;
  /** Kills and restarts kube-apiserver (local control plane only) and waits until it is ready again. */
  restartApiServer(): Promise<void>;
  /** The API server's audit log of writes (local control plane started with it, see hack/cluster-up.sh), else undefined. */
  auditLogPath: string | undefined;
}

/** Exit code and output of a finished command. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

let clusterPromise: Promise<TestCluster> | undefined;

/** Returns the shared test cluster, starting the local control plane once per process when needed. */
export function getCluster(): Promise<TestCluster> {
  clusterPromise ??= openCluster();
  return clusterPromise;
}

/** Runs a command and collects its output; never rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    // Without input, stdin is /dev/null: writing to a pipe of a child that has already exited raised EPIPE
    // (uncaught: it failed whichever test was running; seen in CI with hack/gateway-api-crds.sh).
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    if (opts.input !== undefined) {
      // A child that exits without reading all of its input closes the pipe; its exit status says what happened.
      child.stdin!.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') reject(err);
      });
      child.stdin!.end(opts.input);
    }
  });
}

function binDir(): string {
  const out = spawnSync('bash', [join(repoRoot, 'hack/build-control-plane.sh'), '--print-bin-dir'], { encoding: 'utf8' });
  return out.stdout.trim();
}

/** The kubectl to use: the one built with the control plane, else the one on PATH. */
export function kubectlPath(): string {
  const built = join(binDir(), 'kubectl');
  return existsSync(built) ? built : 'kubectl';
}

async function openCluster(): Promise<TestCluster> {
  let kubeconfigPath = process.env.KUBECONFIG;
  if (!kubeconfigPath) {
    const up = spawnSync('bash', [join(repoRoot, 'hack/cluster-up.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (up.status !== 0) throw new Error(`hack/cluster-up.sh failed with exit code ${up.status}`);
    kubeconfigPath = up.stdout.trim().split('\n').pop()!;
    process.env.KUBECONFIG = kubeconfigPath;
    process.on('exit', () => {
      spawnSync('bash', [join(repoRoot, 'hack/cluster-down.sh')], { stdio: 'inherit' });
    });
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const kubectlBin = kubectlPath();
  const kubectl = (args: string[], opts: { input?: string } = {}) =>
    run(kubectlBin, ['--kubeconfig', kubeconfigPath!, ...args], opts);
  const local = resolve(kubeconfigPath) === resolve(localKubeconfig);
  await installCrds(kubectl);
  const auditLog = join(clusterDir, 'logs', 'audit.log');
  const auditLogPath = local && existsSync(auditLog) ? auditLog : undefined;
  return { kubeconfigPath, kc, local, kubectl, restartApiServer: () => restartApiServer(kc, local, kubectl), auditLogPath };
}

async function installCrds(kubectl: TestCluster['kubectl']): Promise<void> {
  const applied = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(repoRoot, 'crds')]);
  if (applied.code !== 0) throw new Error(`installing the CRDs failed: ${applied.stderr}`);
  const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/graminstaapps.graminsta.io']);
  if (established.code !== 0) throw new Error(`the GraminstaApp CRD did not become Established: ${established.stderr}`);
}

async function restartApiServer(kc: k8s.KubeConfig, local: boolean, kubectl: TestCluster['kubectl']): Promise<void> {
  if (!local) throw new Error('restartApiServer needs the local control plane (KUBECONFIG points elsewhere)');
  const pidFile = join(clusterDir, 'pids', 'kube-apiserver.pid');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
  await waitFor('kube-apiserver to stop', 15_000, async () => !(await apiReady(kc)));
  const args = readFileSync(join(clusterDir, 'apiserver.args'), 'utf8').split('\n').filter(Boolean);
  const log = openSync(join(clusterDir, 'logs', 'kube-apiserver.log'), 'a');
  const child = spawn(join(binDir(), 'kube-apiserver'), args, { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  spawnSync('bash', ['-c', `echo ${child.pid} > '${pidFile}'`]);
  // /readyz, and the CRD's paths: both come up after /version does.
  await waitFor('kube-apiserver to become ready again', 90_000, async () => {
    const ready = await kubectl(['get', '--raw', '/readyz']);
    return ready.code === 0 && (await kubectl(['get', 'graminstaapps', '--all-namespaces'])).code === 0;
  });
}

async function apiReady(kc: k8s.KubeConfig): Promise<boolean> {
  try {
    const api = kc.makeApiClient(k8s.VersionApi);
    await api.getCode();
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it returns true, failing with `what` after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}

let namespaceCounter = 0;

/** Creates a namespace of its own for a test file (Pod Security "restricted" enforced, with `annotations`) and returns its name. */
export async function createTestNamespace(prefix: string, annotations?: Record<string, string>): Promise<string> {
  const cluster = await getCluster();
  const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  const name = `${prefix}-${process.pid}-${++namespaceCounter}-${Math.random().toString(36).slice(2, 6)}`.toLowerCase().slice(0, 63);
  await core.createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          'graminsta.io/test': 'true',
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
        ...(annotations ? { annotations } : {}),
      },
    },
  });
  await waitFor(`ServiceAccount default in ${name}`, 30_000, async () => {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return true;
    } catch {
      return false;
    }
  });
  return name;
}

/** Deletes a test namespace without waiting for its finalizers. */
export async function deleteTestNamespace(name: string): Promise<void> {
  const cluster = await getCluster();
  const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  await core.deleteNamespace({ name }).catch(() => undefined);
}
