// The operator process: configuration, clients, controller, leader election, HTTP endpoints, shutdown.
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { OPERATOR_VERSION, loadConfig } from './config.js';
import { Controller, discoverOptionalApis } from './controller.js';
import { WriteFence, createKubeClients } from './kube/client.kube.js';
import { realClock } from './kube/clock.kube.js';
import { LeaderElector } from './kube/leader-election.kube.js';
import { createLogger } from './kube/logger.kube.js';
import { createMetrics } from './kube/metrics.kube.js';
import { parseServerVersion, readServerVersion, versionProblem } from './kube/version.kube.js';
import { startHttpServer } from './server.js';

/** Runs the operator until SIGTERM or SIGINT, then shuts down gracefully. */
export async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, fields: { logger: 'graminsta-operator' } });
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const kc = new KubeConfig();
  kc.loadFromDefault();
  // With leader election, writes pass only while this process leads; without it, always.
  const fence = new WriteFence();
  if (!config.leaderElect) fence.open();
  const clients = createKubeClients(kc, {
    metrics,
    fence,
    requestTimeoutMs: config.requestTimeoutMs,
    userAgent: `graminsta-operator/${OPERATOR_VERSION} (${config.identity})`,
  });
  logger.info('starting', {
    server: kc.getCurrentCluster()?.server,
    watchNamespace: config.watchNamespace || '(all)',
    workers: config.workers,
    leaderElect: config.leaderElect,
    identity: config.identity,
  });
  const serverVersion = await readServerVersion(clients);
  const version = parseServerVersion(serverVersion);
  if (!version) {
    logger.warn('cannot tell the API server version; going on', { gitVersion: serverVersion.gitVersion });
  } else {
    const problem = versionProblem(version);
    // main's catch logs it as one line ("operator failed to start") and exits 1.
    if (problem) throw new Error(`refusing to start: ${problem} (server gitVersion ${serverVersion.gitVersion})`);
  }

  // Asked now and then every GRAMINSTA_DISCOVERY_INTERVAL_SECONDS while some are missing: CRDs installed later are picked up.
  const servedApis = await discoverOptionalApis(clients);
  logger.info(
    servedApis.has('monitoring') ? 'monitoring.coreos.com/v1 served: monitored apps get PodMonitors and a PrometheusRule' : 'monitoring.coreos.com/v1 not served: monitored apps get their metrics sidecars only',
    { monitoringApi: servedApis.has('monitoring') },
  );
  logger.info(
    servedApis.has('gateway') ? 'gateway.networking.k8s.io/v1 served: apps with spec.ingress.gatewayRef get HTTPRoutes' : 'gateway.networking.k8s.io/v1 not served: apps with spec.ingress.gatewayRef wait for the Gateway API CRDs',
    { gatewayApi: servedApis.has('gateway') },
  );
  const controller = new Controller({
    clients,
    logger,
    metrics,
    clock: realClock,
    watchNamespace: config.watchNamespace,
    workers: config.workers,
    resyncMs: config.resyncMs,
    images: config.images,
    identity: config.identity,
    reconcileTimeoutMs: config.reconcileTimeoutMs,
    servedApis,
    discoveryIntervalMs: config.discoveryIntervalMs,
  });
  const server = await startHttpServer({
    host: config.httpHost,
    port: config.httpPort,
    registry,
    probes: { synced: () => controller.synced(), unhealthy: () => controller.stuck() },
  });
  const address = server.address();
  logger.info('serving /metrics, /healthz and /readyz', { address: typeof address === 'object' ? address : undefined });

  const stopping = new AbortController();
  const elector = config.leaderElect
    ? new LeaderElector({
        clients,
        namespace: config.leaseNamespace,
        name: config.leaseName,
        identity: config.identity,
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
        clock: realClock,
        logger: logger.child({ component: 'leader-election' }),
        metrics,
        onStartedLeading: () => {
          logger.info('became the leader', { lease: `${config.leaseNamespace}/${config.leaseName}` });
          fence.open();
          controller.lead();
        },
        // The fence closes first, so no write leaves from here on; the Lease is given back (on shutdown)
        // only once this resolves, that is once every worker has stopped.
        onStoppedLeading: () => {
          fence.close();
          logger.warn('stopped leading: writes fenced, reconciles cancelled, stopping the workers');
          return controller.unlead();
        },
      })
    : undefined;
  let campaign: Promise<void> = Promise.resolve();
  const shutdown = async (signal: string) => {
    if (stopping.signal.aborted) return;
    logger.info('shutting down', { signal });
    stopping.abort();
    // elector.run stops the workers (onStoppedLeading), then releases the Lease, then resolves.
    await campaign;
    await controller.stop();
    server.close();
    logger.info('stopped');
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM').then(() => process.exit(0)));
  process.once('SIGINT', () => void shutdown('SIGINT').then(() => process.exit(0)));

  await controller.start();
  logger.info('informer caches synced', { apps: controller.apps.list().length });
  if (!elector) {
    controller.lead();
    return;
  }
  // run() returns when this process stops leading and its workers stopped; it then campaigns again, with warm caches.
  campaign = (async () => {
    for (;;) {
      await elector.run(stopping.signal);
      if (stopping.signal.aborted) return;
      logger.info('campaigning for the leader lease again');
    }
  })();
  await campaign;
}

main().catch((err: unknown) => {
  console.error(JSON.stringify({ ts: new Date().toISOString(), level: 'error', msg: 'operator failed to start', error: String((err as Error)?.message ?? err) }));
  process.exit(1);
});
