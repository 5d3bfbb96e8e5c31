// The in-cluster image origin: the photo service in origin mode on a persistent volume, and its Services.
import type { V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import { configHash, IMAGES_PATH, renderOriginConfigMap } from './config.render.js';
import type { RenderContext } from './context.render.js';
import { dataClaim, statefulSet } from './database.render.js';
import { planOf } from './plan.render.js';
import { ORIGIN_SECRET_KEY, renderGeneratedSecrets } from './secrets.render.js';
import { SERVICE_UID } from './security.render.js';
import { HTTP_SERVICE_PORT, podSpec, service, serviceContainer } from './workload.render.js';

/** The origin's StatefulSet (one pod owning the images volume); null unless images are stored in-cluster. */
export function renderOriginStatefulSet(app: GraminstaApp, ctx: RenderContext): V1StatefulSet | null {
  const plan = planOf(app, ctx);
  const storage = plan.storage;
  if (storage.kind !== 'origin') return null;
  const hash = configHash(
    [renderOriginConfigMap(app)],
    [plan.names.originSecret],
    renderGeneratedSecrets(app, ctx),
    ctx,
  );
  return statefulSet(app, {
    name: plan.names.origin,
    component: 'origin',
    serviceName: plan.names.originHeadless,
    replicas: 1,
    hash,
    spec: podSpec({
      uid: SERVICE_UID,
      containers: [
        serviceContainer({
          name: 'origin',
          mode: 'origin',
          image: plan.image,
          kind: 'origin',
          configMap: plan.names.originConfig,
          env: [
            {
              name: 'GRAMINSTA_ORIGIN_TOKEN',
              valueFrom: { secretKeyRef: { name: plan.names.originSecret, key: ORIGIN_SECRET_KEY } },
            },
          ],
          mounts: [{ name: 'images', mountPath: IMAGES_PATH }],
        }),
      ],
    }),
    claims: [dataClaim('images', storage.size, storage.storageClassName)],
  });
}

/** The origin's Service, which the API writes to and reads from; null unless images are stored in-cluster. */
export function renderOriginService(app: GraminstaApp): V1Service | null {
  const plan = planOf(app);
  if (plan.storage.kind !== 'origin') return null;
  return service(app, {
    name: plan.names.origin,
    component: 'origin',
    selector: 'origin',
    ports: [HTTP_SERVICE_PORT],
  });
}

/** The headless Service naming the origin's pod; null unless images are stored in-cluster. */
export function renderOriginHeadlessService(app: GraminstaApp): V1Service | null {
  const plan = planOf(app);
  if (plan.storage.kind !== 'origin') return null;
  return service(app, {
    name: plan.names.originHeadless,
    component: 'origin',
    selector: 'origin',
    ports: [HTTP_SERVICE_PORT],
    headless: true,
  });
}
