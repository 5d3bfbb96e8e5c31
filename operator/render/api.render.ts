// The API tier: the photo service in api mode as a Deployment, its Service, HPA and PDB.
import type {
  V1Container,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
  V1VolumeMount,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import { apiSecretEnv, configHash, referencedSecrets, renderApiConfigMap } from './config.render.js';
import type { RenderContext } from './context.render.js';
import { migrateJobName } from './migrate.render.js';
import {
  AFTER_JOB_ANNOTATION,
  CONFIG_HASH_ANNOTATION,
  labels,
  objectMeta,
  selectorLabels,
} from './names.render.js';
import { planOf, type Plan } from './plan.render.js';
import { renderGeneratedSecrets } from './secrets.render.js';
import { SERVICE_UID } from './security.render.js';
import { HTTP_SERVICE_PORT, hpa, pdb, podSpec, service, serviceContainer } from './workload.render.js';

/** The api-mode container, shared by the API Deployment and the single-machine pod. */
export function apiContainer(app: GraminstaApp, plan: Plan, mounts: V1VolumeMount[] = []): V1Container {
  return serviceContainer({
    name: 'api',
    mode: 'api',
    image: plan.image,
    kind: 'api',
    resources: plan.api.resources,
    configMap: plan.names.apiConfig,
    env: apiSecretEnv(plan),
    mounts,
  });
}

/** Hash of the API pods' configuration (API ConfigMap and the Secrets they read). */
export function apiConfigHash(app: GraminstaApp, ctx: RenderContext): string {
  const plan = planOf(app, ctx);
  return configHash(
    [renderApiConfigMap(app)],
    referencedSecrets(apiSecretEnv(plan)),
    renderGeneratedSecrets(app, ctx),
    ctx,
  );
}

/**
 * The API Deployment; null when the API runs in the single-machine pod. Without spec.replicas when an HPA scales it,
 * and annotated with the migrate Job that must complete before the reconciler applies it.
 */
export function renderApiDeployment(app: GraminstaApp, ctx: RenderContext): V1Deployment | null {
  const plan = planOf(app, ctx);
  if (plan.database.mode === 'embedded') return null;
  const job = migrateJobName(app, ctx);
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(app, plan.names.api, 'api', job ? { [AFTER_JOB_ANNOTATION]: job } : undefined),
    spec: {
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(app, 'api') },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: labels(app, 'api'),
          annotations: { [CONFIG_HASH_ANNOTATION]: apiConfigHash(app, ctx) },
        },
        spec: podSpec({
          uid: SERVICE_UID,
          containers: [apiContainer(app, plan)],
          spreadLabels: selectorLabels(app, 'api'),
        }),
      },
    },
  };
  if (!plan.api.autoscaling) deployment.spec!.replicas = plan.api.replicas;
  return deployment;
}

/** The API Service; in the single-machine stage it selects the single pod (component database). */
export function renderApiService(app: GraminstaApp): V1Service {
  const plan = planOf(app);
  return service(app, {
    name: plan.names.api,
    component: 'api',
    selector: plan.database.mode === 'embedded' ? 'database' : 'api',
    ports: [HTTP_SERVICE_PORT],
  });
}

/** The API's HorizontalPodAutoscaler; null without autoscaling. */
export function renderApiHpa(app: GraminstaApp): V2HorizontalPodAutoscaler | null {
  const plan = planOf(app);
  if (!plan.api.autoscaling || plan.database.mode === 'embedded') return null;
  return hpa(app, plan.names.api, 'api', plan.api.autoscaling);
}

/** The API's PodDisruptionBudget; null unless at least two API pods always run. */
export function renderApiPdb(app: GraminstaApp): V1PodDisruptionBudget | null {
  const plan = planOf(app);
  if (plan.database.mode === 'embedded') return null;
  return pdb(app, plan.names.api, 'api', plan.api.autoscaling?.minReplicas ?? plan.api.replicas);
}
