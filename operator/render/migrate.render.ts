// The migrate Job: the photo service in migrate mode, once per image and database configuration.
import type { V1EnvVar, V1Job } from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import { databaseConfig, databaseSecretEnv } from './config.render.js';
import type { RenderContext } from './context.render.js';
import { hashOf } from './hash.render.js';
import { labels, objectMeta } from './names.render.js';
import { planOf, type Plan } from './plan.render.js';
import { SERVICE_UID } from './security.render.js';
import { podSpec, serviceContainer } from './workload.render.js';

/** Env of a migrate-mode container: the database settings as literals and the Secret refs, nothing else. */
export function migrateEnv(app: GraminstaApp, plan: Plan): V1EnvVar[] {
  const literals = Object.entries(databaseConfig(app, plan))
    .filter(([key]) => key !== 'GRAMINSTA_DB_REPLICA_HOSTS')
    .map(([name, value]) => ({ name, value }));
  return [...literals, ...databaseSecretEnv(plan), { name: 'LOG_LEVEL', value: 'info' }];
}

/** Name of the migrate Job for the app's current image and database settings; null when migrations run in the single pod. */
export function migrateJobName(app: GraminstaApp, ctx: Pick<RenderContext, 'defaultImage'>): string | null {
  const plan = planOf(app, ctx);
  if (plan.database.mode === 'embedded') return null;
  return `${plan.names.migratePrefix}${hashOf({ image: plan.image, env: migrateEnv(app, plan) }).slice(0, 10)}`;
}

/** The Job that migrates the schema before the API rolls; null in the single pod, whose init container migrates instead. */
export function renderMigrateJob(app: GraminstaApp, ctx: RenderContext): V1Job | null {
  const plan = planOf(app, ctx);
  const name = migrateJobName(app, ctx);
  if (name === null) return null;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: objectMeta(app, name, 'migrate'),
    spec: {
      backoffLimit: 10,
      template: {
        metadata: { labels: labels(app, 'migrate') },
        spec: podSpec({
          uid: SERVICE_UID,
          restartPolicy: 'OnFailure',
          containers: [
            serviceContainer({
              name: 'migrate',
              mode: 'migrate',
              image: plan.image,
              kind: 'migrate',
              env: migrateEnv(app, plan),
            }),
          ],
        }),
      },
    },
  };
}
