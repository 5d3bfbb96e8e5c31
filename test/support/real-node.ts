// The real node that hack/cluster-up.sh joins to the local control plane (hack/node/node-up.sh):
// its images, its ingress address, namespaces whose pods land on it, and checks that pods really run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { clusterDir, createTestNamespace, getCluster, waitFor, type TestCluster } from './cluster.js';


/** The node's taint and label key; namespaces made by createRealNodeNamespace select and tolerate it. */
export const REAL_NODE_KEY = 'graminsta.io/real-node';
/** The node's address (on the host's lo); host processes that pods must reach listen here. */
export const NODE_IP = '198.19.255.1';

/** What the tests need to know about the real node. */
export interface RealNode {
  name: string;
  /** Image references built by hack/node/build-images.sh and imported into the node's containerd. */
  images: { service: string; operator: string; postgres: string; redis: string };
  /** The ingress fixture's base URL on 127.0.0.1. */
  ingressURL: string;
}

/** Why there is no real node to test on, or undefined when there is one. */
export function realNodeMissing(): string | undefined {
  if (process.env.KUBECONFIG && !process.env.KUBECONFIG.startsWith(clusterDir)) return 'KUBECONFIG names another cluster than the local control plane';
  if (!existsSync(join(clusterDir, 'node', 'images.txt'))) return 'the local control plane runs without a real node (GRAMINSTA_REAL_NODE=0, or not root)';
  return undefined;
}

/** Reads the real node's images and addresses; throws when there is none. */
export function realNode(): RealNode {
  const missing = realNodeMissing();
  if (missing) throw new Error(`no real node: ${missing}`);
  const refs = readFileSync(join(clusterDir, 'node', 'images.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((r) => r !== '');
  const find = (part: string) => {
    const ref = refs.find((r) => r.includes(part));
    if (!ref) throw new Error(`hack/node/build-images.sh listed no image matching ${part}: ${refs.join(', ')}`);
    return ref;
  };
  return {
    name: process.env.GRAMINSTA_NODE_NAME ?? 'graminsta-node',
    images: { service: find('/graminsta-service:'), operator: find('/graminsta-operator:'), postgres: find('/postgres:'), redis: find('/redis:') },
    ingressURL: readFileSync(join(clusterDir, 'ingress-url'), 'utf8').trim(),
  };
}

/** The operator settings that make it use the images built here (air-gapped image overrides). */
export function imageSettings(node: RealNode): NodeJS.ProcessEnv {
  return {
    GRAMINSTA_SERVICE_IMAGE: node.images.service,
    GRAMINSTA_POSTGRES_IMAGE: node.images.postgres,
    GRAMINSTA_REDIS_IMAGE: node.images.redis,
  };
}

/** Creates a namespace (restricted Pod Security) whose pods are placed on the real node by admission (PodNodeSelector, PodTolerationRestriction): the product renders no node selection of its own. */
export async function createRealNodeNamespace(prefix: string): Promise<string> {
  return await createTestNamespace(prefix, {
    'scheduler.alpha.kubernetes.io/node-selector': `${REAL_NODE_KEY}=true`,
    'scheduler.alpha.kubernetes.io/defaultTolerations': JSON.stringify([{ key: REAL_NODE_KEY, operator: 'Exists', effect: 'NoSchedule' }]),
  });
}

/** Deletes a real-node namespace and waits until its pods are gone, so the next test has the node's CPU. */
export async function deleteRealNodeNamespace(name: string, timeoutMs = 120_000): Promise<void> {
  const cluster = await getCluster();
  const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  await core.deleteNamespace({ name }).catch(() => undefined);
  await waitFor(`namespace ${name} to be deleted`, timeoutMs, async () => {
    try {
      await core.readNamespace({ name });
      return false;
    } catch {
      return true;
    }
  }, 1000);
}

/**
 * The names, sorted, of the pods matching `selector` that are Ready and not terminating: a pod an HPA added a moment
 * ago, not up yet or with nothing served, is not one of them.
 */
export async function readyPods(cluster: TestCluster, ns: string, selector: string): Promise<string[]> {
  const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
  return pods
    .filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.metadata!.name!)
    .sort();
}

/** A pod that does not run as it should: what a test prints. */
export interface PodProblem {
  pod: string;
  problem: string;
}

/** Checks every pod of the namespace: on the real node, Running (or Succeeded for Job pods), every container started and ready, no restarts. */
export async function podProblems(cluster: TestCluster, ns: string, nodeName: string): Promise<PodProblem[]> {
  const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  const pods = (await core.listNamespacedPod({ namespace: ns })).items;
  const problems: PodProblem[] = [];
  for (const pod of pods) {
    const name = pod.metadata!.name!;
    if (pod.metadata?.deletionTimestamp) continue;
    const phase = pod.status?.phase;
    if (pod.spec?.nodeName !== nodeName) problems.push({ pod: name, problem: `on node ${pod.spec?.nodeName ?? '(none)'}` });
    if (phase === 'Succeeded') continue;
    if (phase !== 'Running') {
      problems.push({ pod: name, problem: `phase ${phase}` });
      continue;
    }
    for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const init = (pod.status?.initContainerStatuses ?? []).includes(c);
      const sidecar = init && pod.spec?.initContainers?.find((i) => i.name === c.name)?.restartPolicy === 'Always';
      if (c.restartCount > 0) problems.push({ pod: name, problem: `${c.name} restarted ${c.restartCount} time(s)` });
      if (init && !sidecar) {
        if (c.state?.terminated?.exitCode !== 0) problems.push({ pod: name, problem: `init ${c.name} not completed` });
        continue;
      }
      if (!c.started || !c.state?.running) problems.push({ pod: name, problem: `${c.name} not running (${JSON.stringify(c.state)})` });
      else if (!c.ready) problems.push({ pod: name, problem: `${c.name} not ready` });
    }
  }
  return problems;
}
