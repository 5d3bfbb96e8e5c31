// The in-cluster image origin: the photo service in origin mode on a persistent volume, and its Services.
import type { V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { IMAGES_PATH } from './constants.render.js';
import { originTokenEnv } from './env.render.js';
import type { Plan, ResolvedPlan } from './plan.render.js';
import { SERVICE_UID } from './security.render.js';
import { dataClaim, HTTP_SERVICE_PORT, podSpec, service, serviceContainer, statefulSet } from './workload.render.js';

/** The origin's StatefulSet (one pod owning the images volume); null unless images are stored in-cluster. */
export function renderOriginStatefulSet(plan: ResolvedPlan): V1StatefulSet | null {
  const storage = plan.storage;
  if (storage.kind !== 'origin') return null;
  return statefulSet(plan.names, {
    name: plan.names.origin,
    component: 'origin',
    serviceName: plan.names.originHeadless,
    replicas: 1,
    hash: plan.hashes.origin,
    spec: podSpec({
      uid: SERVICE_UID,
      containers: [
        serviceContainer({
          name: 'origin',
          mode: 'origin',
          image: plan.images.service,
          kind: 'origin',
          configMap: plan.names.originConfig,
          env: [originTokenEnv(plan)],
          mounts: [{ name: 'images', mountPath: IMAGES_PATH }],
        }),
      ],
    }),
    claims: [dataClaim('images', storage.size, storage.storageClassName)],
  });
}

/** The origin's Service, which the API writes to and reads from; null unless images are stored in-cluster. */
export function renderOriginService(plan: Plan): V1Service | null {
  if (plan.storage.kind !== 'origin') return null;
  return service(plan.names, { name: plan.names.origin, component: 'origin', selector: 'origin', ports: [HTTP_SERVICE_PORT] });
}

/** The headless Service naming the origin's pod; null unless images are stored in-cluster. */
export function renderOriginHeadlessService(plan: Plan): V1Service | null {
  if (plan.storage.kind !== 'origin') return null;
  return service(plan.names, {
    name: plan.names.originHeadless,
    component: 'origin',
    selector: 'origin',
    ports: [HTTP_SERVICE_PORT],
    headless: true,
  });
}
