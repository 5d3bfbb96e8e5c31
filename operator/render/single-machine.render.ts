// The single-machine pod: Postgres (a native sidecar), a migrate init container and the API in one StatefulSet pod.
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import { apiContainer } from './api.render.js';
import { apiSecretEnv, configHash, referencedSecrets, renderApiConfigMap } from './config.render.js';
import type { RenderContext } from './context.render.js';
import { postgresContainer, primaryStatefulSet } from './database.render.js';
import { migrateEnv } from './migrate.render.js';
import { planOf } from './plan.render.js';
import { SCRIPT_FILES, scriptsSubset } from './scripts-configmap.render.js';
import { renderGeneratedSecrets } from './secrets.render.js';
import { serviceContainer } from './workload.render.js';

/** Where the API container of the single pod mounts the database volume; images go to its images/ directory. */
export const SINGLE_MACHINE_DATA_DIR = '/data';

/**
 * The single-machine StatefulSet `<app>-db`; null unless Postgres shares the API pod. It is the primary's
 * StatefulSet of later stages with the API added, so growing to split-database keeps the database volume.
 */
export function renderSingleMachineStatefulSet(app: GraminstaApp, ctx: RenderContext): V1StatefulSet | null {
  const plan = planOf(app, ctx);
  const db = plan.database;
  if (db.mode !== 'embedded') return null;

  // A sidecar (restartPolicy Always): the migrate init container starts once its startup probe passes.
  const postgres = {
    ...postgresContainer(app, plan, {
      role: 'primary',
      version: db.version,
      resources: db.resources,
      loopbackOnly: true,
    }),
    restartPolicy: 'Always',
  };
  const migrate = serviceContainer({
    name: 'migrate',
    mode: 'migrate',
    image: plan.image,
    kind: 'migrate',
    env: migrateEnv(app, plan),
  });
  const api = apiContainer(app, plan, [{ name: 'data', mountPath: SINGLE_MACHINE_DATA_DIR }]);

  const hash = configHash(
    [renderApiConfigMap(app), scriptsSubset(app, [SCRIPT_FILES.postgresPrimary])],
    referencedSecrets(apiSecretEnv(plan)),
    renderGeneratedSecrets(app, ctx),
    ctx,
  );
  return primaryStatefulSet(app, plan, db, hash, { initContainers: [postgres, migrate], containers: [api] });
}
