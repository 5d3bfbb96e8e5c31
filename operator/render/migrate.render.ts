// The migrate Job: the photo service in migrate mode, once per image and database configuration.
import type { V1Job } from '@kubernetes/client-node';
import { JOB_DEADLINE_SECONDS, JOB_TTL_SECONDS } from './constants.render.js';
import { migrateEnv } from './env.render.js';
import { hashOf } from './hash.render.js';
import { labels, objectMeta } from './names.render.js';
import type { Plan, ResolvedPlan } from './plan.render.js';
import { SERVICE_UID } from './security.render.js';
import { podSpec, serviceContainer } from './workload.render.js';

/** Name of the migrate Job for the app's image and database settings; null when migrations run in the single pod. */
export function migrateJobName(plan: Plan): string | null {
  if (plan.database.placement === 'embedded') return null;
  return `${plan.names.migratePrefix}${hashOf({ image: plan.images.service, env: migrateEnv(plan) }).slice(0, 10)}`;
}

/** The Job that migrates the schema before the API rolls; null in the single pod, whose init container migrates instead. */
export function renderMigrateJob(plan: ResolvedPlan): V1Job | null {
  const name = plan.jobs.migrate;
  if (name === null) return null;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: objectMeta(plan.names, name, 'migrate'),
    spec: {
      backoffLimit: 4,
      activeDeadlineSeconds: JOB_DEADLINE_SECONDS.migrate,
      ttlSecondsAfterFinished: JOB_TTL_SECONDS,
      template: {
        metadata: { labels: labels(plan.names, 'migrate') },
        spec: podSpec({
          uid: SERVICE_UID,
          restartPolicy: 'OnFailure',
          containers: [
            serviceContainer({
              name: 'migrate',
              mode: 'migrate',
              image: plan.images.service,
              kind: 'migrate',
              env: migrateEnv(plan),
            }),
          ],
        }),
      },
    },
  };
}
