// The web tier: the photo service in web mode as a Deployment, its Service, HPA and PDB.
import type {
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { Plan, ResolvedPlan } from './plan.render.js';
import { deployment, HTTP_SERVICE_PORT, hpa, pdb, service, serviceContainer } from './workload.render.js';

/** The web Deployment; null without a web tier. Without spec.replicas when an HPA scales it. */
export function renderWebDeployment(plan: ResolvedPlan): V1Deployment | null {
  const web = plan.web;
  if (!web) return null;
  return deployment(plan.names, {
    name: plan.names.web,
    component: 'web',
    workload: web,
    hash: plan.hashes.web,
    container: serviceContainer({
      name: 'web',
      mode: 'web',
      image: plan.images.service,
      kind: 'web',
      resources: web.resources,
      configMap: plan.names.webConfig,
    }),
  });
}

/** The web Service; null without a web tier. */
export function renderWebService(plan: Plan): V1Service | null {
  if (!plan.web) return null;
  return service(plan.names, { name: plan.names.web, component: 'web', selector: 'web', ports: [HTTP_SERVICE_PORT] });
}

/** The web HorizontalPodAutoscaler; null without a web tier or without autoscaling. */
export function renderWebHpa(plan: Plan): V2HorizontalPodAutoscaler | null {
  if (!plan.web?.autoscaling) return null;
  return hpa(plan.names, plan.names.web, 'web', plan.web.autoscaling);
}

/** The web PodDisruptionBudget; null unless at least two web pods always run. */
export function renderWebPdb(plan: Plan): V1PodDisruptionBudget | null {
  if (!plan.web) return null;
  return pdb(plan.names, plan.names.web, 'web', plan.web.autoscaling?.minReplicas ?? plan.web.replicas);
}
