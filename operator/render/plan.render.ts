// The app reduced to what the renderers need: the stage preset applied (presets.api.ts) plus render's own choices.
import type { ResourceRequirements, S3OriginSpec } from '../api/types.gen.js';
import type { GraminstaApp } from '../api/types.gen.js';
import { effectiveSpec, type EffectiveSpec, type EffectiveWorkload } from '../api/presets.api.js';
import type { RenderContext } from './context.render.js';
import { appNames, type AppNames } from './names.render.js';

/** Where Postgres runs: inside the single pod, in its own StatefulSets, or outside the cluster. */
export type DatabasePlan =
  | {
      mode: 'embedded';
      version: string;
      size: string;
      storageClassName?: string;
      resources: ResourceRequirements;
    }
  | {
      mode: 'in-cluster';
      version: string;
      size: string;
      storageClassName?: string;
      readReplicas: number;
      resources: ResourceRequirements;
    }
  | { mode: 'external'; secretName: string };

/** Where images are stored: on the single pod's volume, in the in-cluster origin, or in S3. */
export type StoragePlan =
  | { kind: 'local' }
  | { kind: 'origin'; size: string; storageClassName?: string }
  | { kind: 's3'; s3: S3OriginSpec & { region: string } };

/** Everything the renderers decide from. */
export interface Plan {
  names: AppNames;
  stage: EffectiveSpec['stage'];
  image: string;
  api: EffectiveWorkload;
  web: EffectiveWorkload | null;
  ingress: EffectiveSpec['ingress'];
  database: DatabasePlan;
  cache: EffectiveSpec['cache'];
  storage: StoragePlan;
  cdnBaseURL: string;
}

/** Size of the in-cluster origin volume when the app has no cdn tier yet (images still need a shared home). */
export const PRE_CDN_ORIGIN_SIZE = '5Gi';

/** Resolves the app's stage and effective spec (presets applied, explicit fields winning) into a Plan. */
export function planOf(app: GraminstaApp, ctx?: Pick<RenderContext, 'defaultImage'>): Plan {
  const names = appNames(app);
  const spec = ctx?.defaultImage ? effectiveSpec(app, ctx.defaultImage) : effectiveSpec(app);
  const db = spec.database;

  let database: DatabasePlan;
  if (db.placement === 'external' && db.external) {
    database = { mode: 'external', secretName: db.external.secretName };
  } else {
    const common = {
      version: db.version,
      size: String(db.storage.size),
      resources: db.resources,
      ...(db.storage.storageClassName ? { storageClassName: db.storage.storageClassName } : {}),
    };
    database =
      db.placement === 'pod'
        ? { mode: 'embedded', ...common }
        : { mode: 'in-cluster', ...common, readReplicas: db.readReplicas };
  }

  if (database.mode === 'embedded') {
    // The single pod holds Postgres: it cannot be replicated or scaled by an HPA.
    if (spec.api.autoscaling) {
      throw new Error(
        'spec.api.autoscaling: not possible while Postgres shares the API pod (stage single-machine)',
      );
    }
    if (spec.api.replicas !== 1) {
      throw new Error(
        `spec.api.replicas: must be 1 while Postgres shares the API pod (stage single-machine), got ${spec.api.replicas}`,
      );
    }
  }

  if (spec.cache && spec.cache.shards !== 1 && spec.cache.shards < 3) {
    throw new Error(
      `spec.cache.shards: must be 1 (standalone) or at least 3 (cluster), got ${spec.cache.shards}`,
    );
  }

  const origin = spec.cdn?.origin;
  let storage: StoragePlan;
  if (origin?.kind === 's3') storage = { kind: 's3', s3: origin.s3 };
  else if (origin?.kind === 'volume') {
    storage = {
      kind: 'origin',
      size: String(origin.volume.size),
      ...(origin.volume.storageClassName ? { storageClassName: origin.volume.storageClassName } : {}),
    };
  } else if (database.mode === 'embedded') storage = { kind: 'local' };
  else storage = { kind: 'origin', size: PRE_CDN_ORIGIN_SIZE };

  return {
    names,
    stage: spec.stage,
    image: spec.image,
    api: spec.api,
    web: spec.web,
    ingress: spec.ingress,
    database,
    cache: spec.cache,
    storage,
    cdnBaseURL: spec.cdn?.publicBaseURL ?? '',
  };
}
