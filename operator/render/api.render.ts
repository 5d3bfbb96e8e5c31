// The API tier: the photo service in api mode as a Deployment, its Service, HPA and PDB.
import type {
  V1Container,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
  V1VolumeMount,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { apiSecretEnv, databaseCaEnv } from './env.render.js';
import { AFTER_JOB_ANNOTATION } from './names.render.js';
import type { Plan, ResolvedPlan } from './plan.render.js';
import { deployment, HTTP_SERVICE_PORT, hpa, pdb, service, serviceContainer } from './workload.render.js';

/** The api-mode container, shared by the API Deployment and the single-machine pod. */
export function apiContainer(plan: Plan, mounts: V1VolumeMount[] = []): V1Container {
  return serviceContainer({
    name: 'api',
    mode: 'api',
    image: plan.images.service,
    kind: 'api',
    resources: plan.api.resources,
    configMap: plan.names.apiConfig,
    // The CA stays out of apiSecretEnv, which the config hash covers: a renewed CA restarts nothing.
    env: [...apiSecretEnv(plan), ...databaseCaEnv(plan)],
    mounts,
  });
}

/**
 * The API Deployment; null when the API runs in the single-machine pod. Without spec.replicas when an HPA scales it,
 * and annotated with the migrate Job that must complete before the reconciler applies it.
 */
export function renderApiDeployment(plan: ResolvedPlan): V1Deployment | null {
  if (plan.database.placement === 'embedded') return null;
  const job = plan.jobs.migrate;
  return deployment(plan.names, {
    name: plan.names.api,
    component: 'api',
    workload: plan.api,
    hash: plan.hashes.api,
    container: apiContainer(plan),
    ...(job ? { annotations: { [AFTER_JOB_ANNOTATION]: job } } : {}),
  });
}

/** The API Service; in the single-machine stage it selects the single pod (component database). */
export function renderApiService(plan: Plan): V1Service {
  return service(plan.names, {
    name: plan.names.api,
    component: 'api',
    selector: plan.database.placement === 'embedded' ? 'database' : 'api',
    ports: [HTTP_SERVICE_PORT],
  });
}

/** The API's HorizontalPodAutoscaler; null without autoscaling. */
export function renderApiHpa(plan: Plan): V2HorizontalPodAutoscaler | null {
  if (!plan.api.autoscaling || plan.database.placement === 'embedded') return null;
  return hpa(plan.names, plan.names.api, 'api', plan.api.autoscaling);
}

/** The API's PodDisruptionBudget; null unless at least two API pods always run. */
export function renderApiPdb(plan: Plan): V1PodDisruptionBudget | null {
  if (plan.database.placement === 'embedded') return null;
  return pdb(plan.names, plan.names.api, 'api', plan.api.autoscaling?.minReplicas ?? plan.api.replicas);
}
