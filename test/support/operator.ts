// Runs the GraminstaApp controller in the test process against the test cluster, and small helpers to
// create apps and wait for their conditions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { chartRbac } from '../../hack/gen-chart-rbac.js';
import { Registry } from 'prom-client';
import { DEFAULT_IMAGES, type ImageSettings } from '../../operator/api/images.api.js';
import type { GraminstaApp } from '../../operator/api/types.gen.js';
import { APP_RESOURCE, Controller, discoverOptionalApis } from '../../operator/controller.js';
import { createKubeClients, type KubeClients } from '../../operator/kube/client.kube.js';
import { createLogger, nopLogger } from '../../operator/kube/logger.kube.js';
import { createMetrics, type Metrics } from '../../operator/kube/metrics.kube.js';
import { getCluster, repoRoot, waitFor, type TestCluster } from './cluster.js';

/** The image settings of the in-process operator: the default Postgres and Redis images, a test service image. */
export const TEST_IMAGES: ImageSettings = { ...DEFAULT_IMAGES, service: 'ghcr.io/graminsta/graminsta-service:test' };

/** A controller running in this process, with its clients and metrics. */
export interface RunningOperator {
  controller: Controller;
  clients: KubeClients;
  metrics: Metrics;
  registry: Registry;
  /** Write requests (anything but GET) the operator's clients made so far. */
  writes(): Promise<number>;
  /** Requests of any method (watches aside) the operator's clients made so far. */
  requests(): Promise<number>;
  /**
   * Resolves once the operator has made no write for `quietMs` (late status writes and Events of the last change
   * have landed), so that a window measured after it sees only what happens at rest; throws after `timeoutMs`.
   */
  atRest(quietMs?: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a leading controller on the test cluster (as `kubeconfig`'s user when given, else the harness's admin). */
export async function startOperator(
  opts: {
    watchNamespace?: string;
    resyncMs?: number;
    workers?: number;
    kubeconfig?: KubeConfig;
    images?: ImageSettings;
    /** How often to look for optional APIs (Gateway API, Prometheus Operator) installed after the start; omitted: never. */
    discoveryIntervalMs?: number;
  } = {},
): Promise<RunningOperator> {
  const cluster = await getCluster();
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const clients = createKubeClients(opts.kubeconfig ?? cluster.kc, { metrics });
  const logger = process.env.GRAMINSTA_TEST_LOGS ? createLogger({ level: 'debug', stream: process.stderr }) : nopLogger;
  const controller = new Controller({
    clients,
    logger,
    metrics,
    watchNamespace: opts.watchNamespace ?? '',
    workers: opts.workers ?? 4,
    resyncMs: opts.resyncMs ?? 60_000,
    images: opts.images ?? TEST_IMAGES,
    identity: 'test',
    reconcileTimeoutMs: 120_000,
    servedApis: await discoverOptionalApis(clients),
    discoveryIntervalMs: opts.discoveryIntervalMs ?? 0,
  });
  await controller.start();
  controller.lead();
  return {
    controller,
    clients,
    metrics,
    registry,
    writes: () => countWrites(registry),
    requests: () => countRequests(registry),
    atRest: (quietMs = 5_000, timeoutMs = 60_000) => quiet(() => countWrites(registry), quietMs, timeoutMs),
    stop: () => controller.stop(),
  };
}

/** Resolves once `writes()` has not changed for `quietMs`, polling every 250 ms; throws after `timeoutMs`. */
async function quiet(writes: () => Promise<number>, quietMs: number, timeoutMs: number): Promise<void> {
  let last = await writes();
  let since = Date.now();
  await waitFor(`no write for ${quietMs / 1000} s`, timeoutMs, async () => {
    const now = await writes();
    if (now !== last) [last, since] = [now, Date.now()];
    return Date.now() - since >= quietMs;
  }, 250);
}

/** Sums rest_client_requests_total over every method but GET. */
export async function countWrites(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric('rest_client_requests_total')?.get();
  return (metric?.values ?? []).filter((v) => v.labels.method !== 'GET').reduce((n, v) => n + v.value, 0);
}

/** Sums rest_client_requests_total over every method. */
export async function countRequests(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric('rest_client_requests_total')?.get();
  return (metric?.values ?? []).reduce((n, v) => n + v.value, 0);
}

/** Reads an example app from examples/. */
export function exampleApp(file: string, name?: string): GraminstaApp {
  const app = parse(readFileSync(join(repoRoot, 'examples', file), 'utf8')) as GraminstaApp;
  if (name) app.metadata.name = name;
  return app;
}

/** Creates (or server-side applies) an app in namespace. */
export async function applyApp(clients: KubeClients, namespace: string, app: GraminstaApp): Promise<GraminstaApp> {
  const body = { ...app, metadata: { ...app.metadata, namespace } };
  return clients.objects.patch(body, undefined, undefined, 'graminsta-test', true, 'application/apply-patch+yaml') as Promise<GraminstaApp>;
}

/** Reads an app without the cache. */
export async function readApp(clients: KubeClients, namespace: string, name: string): Promise<GraminstaApp> {
  return (await clients.customObjects.getNamespacedCustomObject({ ...APP_RESOURCE, namespace, name })) as GraminstaApp;
}

/** The condition of the given type on an app, if any. */
export function condition(app: GraminstaApp, type: string) {
  return app.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the app's condition has the given status (and reason, when given), for the current generation. */
export async function waitForCondition(
  clients: KubeClients,
  namespace: string,
  name: string,
  type: string,
  status: 'True' | 'False',
  opts: { reason?: string; timeoutMs?: number } = {},
): Promise<GraminstaApp> {
  let last: GraminstaApp | undefined;
  try {
    await waitFor(`${namespace}/${name} ${type}=${status}${opts.reason ? ` (${opts.reason})` : ''}`, opts.timeoutMs ?? 120_000, async () => {
      last = await readApp(clients, namespace, name);
      const c = condition(last, type);
      return (
        last.status?.observedGeneration === last.metadata.generation &&
        c?.status === status &&
        (!opts.reason || c.reason === opts.reason)
      );
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`))}`);
  }
  return last!;
}

/** Lists objects of a kind in a namespace with the app's instance label, uncached. */
export async function listChildren(clients: KubeClients, apiVersion: string, kind: string, namespace: string, app: string): Promise<KubernetesObject[]> {
  const list = await clients.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, `app.kubernetes.io/instance=${app}`);
  return list.items;
}

/** A kubeconfig of a new ServiceAccount in ns bound (in ns) to the chart's cluster rules, as the chart grants them. */
export async function chartServiceAccount(cluster: TestCluster, ns: string): Promise<KubeConfig> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
  const name = `${ns}-operator`;
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'operator' } } });
  const rules = chartRbac().cluster.map(({ why: _why, ...rule }) => rule);
  await rbac.createClusterRole({ body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: { metadata: { name: 'operator' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: ns }] },
  });
  const token = await core.createNamespacedServiceAccountToken({ name: 'operator', namespace: ns, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const kc = new KubeConfig();
  const server = cluster.kc.getCurrentCluster()!;
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: server.server, caData: server.caData, caFile: server.caFile, skipTLSVerify: server.skipTLSVerify }],
    users: [{ name: 'operator', token: token.status!.token }],
    contexts: [{ name: 'sa', cluster: 'c', user: 'operator', namespace: ns }],
    currentContext: 'sa',
  });
  return kc;
}

/** The operator's requests answered 403. */
export const denied = async (op: RunningOperator) => ((await op.registry.getSingleMetric('rest_client_requests_total')?.get())?.values ?? []).filter((v) => v.labels.code === '403');
