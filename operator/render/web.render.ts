// The web tier: the photo service in web mode as a Deployment, its Service, HPA and PDB.
import type {
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import { configHash, renderWebConfigMap } from './config.render.js';
import type { RenderContext } from './context.render.js';
import { CONFIG_HASH_ANNOTATION, labels, objectMeta, selectorLabels } from './names.render.js';
import { planOf } from './plan.render.js';
import { SERVICE_UID } from './security.render.js';
import { HTTP_SERVICE_PORT, hpa, pdb, podSpec, service, serviceContainer } from './workload.render.js';

/** The web Deployment; null without a web tier. Without spec.replicas when an HPA scales it. */
export function renderWebDeployment(app: GraminstaApp, ctx: RenderContext): V1Deployment | null {
  const plan = planOf(app, ctx);
  const web = plan.web;
  if (!web) return null;
  const hash = configHash([renderWebConfigMap(app)], [], [], ctx);
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(app, plan.names.web, 'web'),
    spec: {
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(app, 'web') },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labels(app, 'web'), annotations: { [CONFIG_HASH_ANNOTATION]: hash } },
        spec: podSpec({
          uid: SERVICE_UID,
          containers: [
            serviceContainer({
              name: 'web',
              mode: 'web',
              image: plan.image,
              kind: 'web',
              resources: web.resources,
              configMap: plan.names.webConfig,
            }),
          ],
          spreadLabels: selectorLabels(app, 'web'),
        }),
      },
    },
  };
  if (!web.autoscaling) deployment.spec!.replicas = web.replicas;
  return deployment;
}

/** The web Service; null without a web tier. */
export function renderWebService(app: GraminstaApp): V1Service | null {
  const plan = planOf(app);
  if (!plan.web) return null;
  return service(app, {
    name: plan.names.web,
    component: 'web',
    selector: 'web',
    ports: [HTTP_SERVICE_PORT],
  });
}

/** The web HorizontalPodAutoscaler; null without a web tier or without autoscaling. */
export function renderWebHpa(app: GraminstaApp): V2HorizontalPodAutoscaler | null {
  const plan = planOf(app);
  if (!plan.web?.autoscaling) return null;
  return hpa(app, plan.names.web, 'web', plan.web.autoscaling);
}

/** The web PodDisruptionBudget; null unless at least two web pods always run. */
export function renderWebPdb(app: GraminstaApp): V1PodDisruptionBudget | null {
  const plan = planOf(app);
  if (!plan.web) return null;
  return pdb(app, plan.names.web, 'web', plan.web.autoscaling?.minReplicas ?? plan.web.replicas);
}
