// Moving the photos when the app's image store changes (single-machine volume, in-cluster origin, S3): the photo
// service in sync-images mode copies every photo from the old store to the new one, once while both run and
// before traffic switches (apply-after=ready), and once more after the switch has settled (apply-after=switched)
// for the photos the old pods took in meanwhile. Both copies are idempotent; the old store is retired only after.
import type { V1EnvVar, V1Job } from '@kubernetes/client-node';
import type { ImageStoreStatus } from '../api/types.gen.js';
import { JOB_DEADLINE_SECONDS, JOB_TTL_SECONDS, SERVICE_PORT } from './constants.render.js';
import { migrateEnv, originTokenEnv, secretEnv } from './env.render.js';
import { hashOf } from './hash.render.js';
import { APPLY_AFTER_ANNOTATION, labels, objectMeta, serviceHost, type ApplyAfter } from './names.render.js';
import type { Plan, ResolvedPlan } from './plan.render.js';
import { SERVICE_UID } from './security.render.js';
import { podSpec, serviceContainer } from './workload.render.js';

/** How a sync-images container reaches a store, as the env of its storage settings under `prefix` (GRAMINSTA_ or GRAMINSTA_SYNC_FROM_). */
export function storeEnv(plan: Plan, store: ImageStoreStatus, prefix: string): V1EnvVar[] {
  const { names } = plan;
  const token = { ...originTokenEnv(plan), name: `${prefix}ORIGIN_TOKEN` };
  switch (store.kind) {
    case 'volume':
      // The single-machine pod's API serves its volume over the origin protocol (writes need the origin token).
      return [
        { name: `${prefix}STORAGE`, value: 'origin' },
        { name: `${prefix}ORIGIN_URL`, value: `http://${names.database}-0.${serviceHost(names, names.databaseHeadless)}:${SERVICE_PORT}` },
        token,
      ];
    case 'origin':
      return [
        { name: `${prefix}STORAGE`, value: 'origin' },
        { name: `${prefix}ORIGIN_URL`, value: `http://${serviceHost(names, names.origin)}` },
        token,
      ];
    case 's3': {
      const endpoint = store.endpoint ?? '';
      const env: V1EnvVar[] = [
        { name: `${prefix}STORAGE`, value: 's3' },
        { name: `${prefix}S3_BUCKET`, value: store.bucket ?? '' },
        { name: `${prefix}S3_REGION`, value: store.region ?? 'us-east-1' },
        { name: `${prefix}S3_ENDPOINT`, value: endpoint },
        { name: `${prefix}S3_FORCE_PATH_STYLE`, value: endpoint ? 'true' : 'false' },
      ];
      if (store.credentialsSecret) {
        const keyPrefix = prefix === 'GRAMINSTA_' ? '' : prefix;
        env.push(
          secretEnv(`${keyPrefix}AWS_ACCESS_KEY_ID`, store.credentialsSecret, 'AWS_ACCESS_KEY_ID'),
          secretEnv(`${keyPrefix}AWS_SECRET_ACCESS_KEY`, store.credentialsSecret, 'AWS_SECRET_ACCESS_KEY'),
        );
      }
      return env;
    }
  }
}

/** The database connection of a sync-images Job: the single-machine pod's Postgres through its headless Service, else the usual. */
function syncDatabaseEnv(plan: Plan): V1EnvVar[] {
  const env = migrateEnv(plan);
  if (plan.database.placement !== 'embedded') return env;
  return env.map((e) => (e.name === 'GRAMINSTA_DB_HOST' ? { ...e, value: serviceHost(plan.names, plan.names.databaseHeadless) } : e));
}

/** The two copy Jobs of a move of the photos to another store; none when they are where the plan puts them. */
export function renderImageMoveJobs(plan: ResolvedPlan): V1Job[] {
  const move = plan.imageMove;
  if (!move) return [];
  const env = [...syncDatabaseEnv(plan), ...storeEnv(plan, move.to, 'GRAMINSTA_'), ...storeEnv(plan, move.from, 'GRAMINSTA_SYNC_FROM_')];
  const hash = hashOf({ image: plan.images.service, env }).slice(0, 10);
  const job = (phase: 'pre' | 'post', after: ApplyAfter): V1Job => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: objectMeta(plan.names, `${plan.names.app}-images-${phase}-${hash}`, 'migrate', {
      [APPLY_AFTER_ANNOTATION]: after,
      'graminsta.io/image-move': `${move.from.kind} -> ${move.to.kind}`,
    }),
    spec: {
      backoffLimit: 6,
      activeDeadlineSeconds: JOB_DEADLINE_SECONDS.imageMove,
      ttlSecondsAfterFinished: JOB_TTL_SECONDS,
      template: {
        metadata: { labels: labels(plan.names, 'migrate') },
        spec: podSpec({
          uid: SERVICE_UID,
          restartPolicy: 'OnFailure',
          containers: [serviceContainer({ name: 'sync-images', mode: 'sync-images', image: plan.images.service, kind: 'migrate', env })],
        }),
      },
    },
  });
  return [job('pre', 'ready'), job('post', 'switched')];
}
