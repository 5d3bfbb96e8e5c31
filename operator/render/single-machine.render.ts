// The single-machine pod: Postgres (a native sidecar), a migrate init container and the API in one StatefulSet pod.
import type { V1StatefulSet } from '@kubernetes/client-node';
import { apiContainer } from './api.render.js';
import { SINGLE_MACHINE_DATA_DIR } from './constants.render.js';
import { postgresContainer, primaryStatefulSet, withExporter } from './database.render.js';
import { migrateEnv } from './env.render.js';
import type { ResolvedPlan } from './plan.render.js';
import { serviceContainer } from './workload.render.js';

/**
 * The single-machine StatefulSet `<app>-db`; null unless Postgres shares the API pod. It is the primary's
 * StatefulSet of later stages with the API added, so growing to split-database keeps the database volume.
 */
export function renderSingleMachineStatefulSet(plan: ResolvedPlan): V1StatefulSet | null {
  if (plan.database.placement !== 'embedded') return null;
  // A sidecar (restartPolicy Always): the migrate init container starts once its startup probe passes.
  const postgres = { ...postgresContainer(plan, 'primary'), restartPolicy: 'Always' };
  const migrate = serviceContainer({
    name: 'migrate',
    mode: 'migrate',
    image: plan.images.service,
    kind: 'migrate',
    env: migrateEnv(plan),
  });
  const api = apiContainer(plan, [{ name: 'data', mountPath: SINGLE_MACHINE_DATA_DIR }]);
  return primaryStatefulSet(plan, plan.hashes.singleMachine, { initContainers: [postgres, migrate], containers: withExporter(plan, [api]) });
}
