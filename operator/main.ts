// The operator process: configuration, clients, controller, leader election, HTTP endpoints, shutdown.
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { loadConfig } from './config.js';
import { Controller } from './controller.js';
import { createKubeClients } from './kube/client.kube.js';
import { realClock } from './kube/clock.kube.js';
import { LeaderElector } from './kube/leader-election.kube.js';
import { createLogger } from './kube/logger.kube.js';
import { createMetrics } from './kube/metrics.kube.js';
import { startHttpServer } from './server.js';

/** Runs the operator until SIGTERM or SIGINT, then shuts down gracefully. */
export async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, fields: { logger: 'graminsta-operator' } });
  const registry = new Registry();
  const metrics = createMetrics(registry);
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const clients = createKubeClients(kc, metrics);
  logger.info('starting', {
    server: kc.getCurrentCluster()?.server,
    watchNamespace: config.watchNamespace || '(all)',
    workers: config.workers,
    leaderElect: config.leaderElect,
    identity: config.identity,
  });

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
  });
  const server = await startHttpServer({
    host: config.httpHost,
    port: config.httpPort,
    registry,
    probes: { synced: () => controller.synced(), unhealthy: () => undefined },
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
          controller.lead();
        },
        onStoppedLeading: () => {
          logger.warn('lost the leader lease: stopping the workers');
          void controller.unlead();
        },
      })
    : undefined;
  const shutdown = async (signal: string) => {
    if (stopping.signal.aborted) return;
    logger.info('shutting down', { signal });
    stopping.abort();
    await controller.unlead();
    await elector?.release().catch((err: unknown) => logger.warn('could not release the leader lease', { error: err }));
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
  // run() returns when this process stops leading; it then campaigns again, with warm caches.
  for (;;) {
    await elector.run(stopping.signal);
    if (stopping.signal.aborted) return;
    logger.info('campaigning for the leader lease again');
  }
}

main().catch((err: unknown) => {
  console.error(JSON.stringify({ ts: new Date().toISOString(), level: 'error', msg: 'operator failed to start', error: String((err as Error)?.message ?? err) }));
  process.exit(1);
});
