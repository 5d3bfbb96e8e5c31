// Stage presets: which stage an app is at, and its spec with every default of that stage filled in (pure).
import { STAGES, type Stage } from './schema.api.js';
import type { V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type {
  AutoscalingSpec,
  DatabaseBackupSpec,
  DatabaseRestoreSpec,
  GraminstaApp,
  GraminstaAppSpec,
  GatewayRefSpec,
  IngressTLSSpec,
  RateLimitsSpec,
  ResourceRequirements,
  S3OriginSpec,
} from './types.gen.js';

/** The smallest users hint of each stage (a hint at or above it and below the next one picks the stage). */
export const STAGE_THRESHOLDS: Readonly<Record<Stage, number>> = {
  'single-machine': 1,
  'split-database': 10,
  'split-clients': 100,
  'load-balanced': 1_000,
  cdn: 10_000,
  'data-layer': 100_000,
};

/** Autoscaling with every field resolved. */
export interface EffectiveAutoscaling {
  minReplicas: number;
  maxReplicas: number;
  targetCPUUtilizationPercentage: number;
  behavior?: AutoscalingSpec['behavior'];
}

/** A tier of pods (api or web) with every field resolved; autoscaling null means a fixed replica count. */
export interface EffectiveWorkload {
  replicas: number;
  autoscaling: EffectiveAutoscaling | null;
  resources: ResourceRequirements;
}

/** A persistent volume with its size resolved. */
export interface EffectiveStorage {
  size: string | number;
  storageClassName?: string;
}

/**
 * The API's rate limits as the spec sets them: only the fields given (the service's own defaults,
 * docs/service-env.md, fill in the rest); trustedProxyHops undefined: decided by the plan (1 behind an Ingress).
 */
export type EffectiveRateLimits = Omit<RateLimitsSpec, 'enabled'>;

function rateLimitsOf(spec: RateLimitsSpec | undefined): EffectiveRateLimits | null {
  if (spec?.enabled === false) return null;
  const { enabled: _enabled, ...rest } = spec ?? {};
  return rest;
}

/** The spec with the stage preset applied: what the renderers turn into objects. Null means "the tier does not exist". */
export interface EffectiveSpec {
  stage: Stage;
  /** spec.image; empty: the operator's default service image (resolved by the plan). */
  image: string;
  paused: boolean;
  /** spec.monitoring when enabled: the labels of the PodMonitors and the PrometheusRule; null: not monitored. */
  monitoring: { labels: Record<string, string> } | null;
  api: EffectiveWorkload;
  /** spec.api.rateLimits; null when switched off. */
  rateLimits: EffectiveRateLimits | null;
  /** spec.networkPolicy; null when switched off. ingressFrom empty: the HTTP tiers accept any source. */
  networkPolicy: { ingressFrom: V1NetworkPolicyPeer[] } | null;
  web: (EffectiveWorkload & { enabled: true }) | null;
  ingress: {
    className?: string;
    apiHost?: string;
    webHost?: string;
    tls?: IngressTLSSpec;
    /** HTTPRoutes attached to this Gateway instead of an Ingress. */
    gatewayRef?: GatewayRefSpec;
    annotations: Record<string, string>;
  } | null;
  cdn: {
    publicBaseURL?: string;
    /** s3: an S3 bucket; origin: the in-cluster origin (spec.cdn.origin.volume). */
    origin:
      { kind: 's3'; s3: S3OriginSpec & { region: string } } | { kind: 'origin'; storage: EffectiveStorage };
  } | null;
  database: {
    /** embedded: a Postgres container in the API pod; in-cluster: its own StatefulSets; external: a managed database. */
    placement: DatabasePlacement;
    /** spec.database.external, with sslRootCert's key defaulted (ca.crt). */
    external: { secretName: string; sslRootCert: { secretName: string; key: string } | null } | null;
    /** spec.database.image; empty: the operator's default Postgres image (resolved by the plan). */
    image: string;
    readReplicas: number;
    /** spec.database.maxReplicaLagSeconds, or DEFAULT_MAX_REPLICA_LAG_SECONDS. */
    maxReplicaLagSeconds: number;
    /** spec.database.allowedCIDRs, or DEFAULT_DB_ALLOWED_CIDRS. */
    allowedCIDRs: string[];
    storage: EffectiveStorage;
    version: string;
    resources: ResourceRequirements;
    /** spec.database.backup as written; null: no backups. */
    backup: DatabaseBackupSpec | null;
    /** spec.database.restoreFrom as written; null: a new database starts empty. */
    restoreFrom: DatabaseRestoreSpec | null;
  };
  cache: {
    /** standalone: one Redis; cluster: a Redis Cluster of `shards` primaries. */
    mode: 'standalone' | 'cluster';
    shards: number;
    replicasPerShard: number;
    ttlSeconds: number;
    /** The volume of each Redis node. */
    storage: EffectiveStorage;
    /** spec.cache.image; empty: the operator's default Redis image (resolved by the plan). */
    image: string;
    resources: ResourceRequirements;
  } | null;
}

/** Where Postgres runs: in the API pod (single-machine), in its own StatefulSets, or outside the cluster. */
export type DatabasePlacement = 'embedded' | 'in-cluster' | 'external';

interface StagePreset {
  apiReplicas: number;
  apiAutoscaling: { minReplicas: number; maxReplicas: number } | null;
  web: boolean;
  webReplicas: number;
  webAutoscaling: { minReplicas: number; maxReplicas: number } | null;
  ingress: boolean;
  cdn: boolean;
  databaseSeparate: boolean;
  databaseStorage: string;
  readReplicas: number;
  cache: boolean;
  cacheShards: number;
}

const PRESETS: Readonly<Record<Stage, StagePreset>> = {
  'single-machine': {
    apiReplicas: 1,
    apiAutoscaling: null,
    web: false,
    webReplicas: 1,
    webAutoscaling: null,
    ingress: false,
    cdn: false,
    databaseSeparate: false,
    databaseStorage: '1Gi',
    readReplicas: 0,
    cache: false,
    cacheShards: 1,
  },
  'split-database': {
    apiReplicas: 1,
    apiAutoscaling: null,
    web: false,
    webReplicas: 1,
    webAutoscaling: null,
    ingress: false,
    cdn: false,
    databaseSeparate: true,
    databaseStorage: '5Gi',
    readReplicas: 0,
    cache: false,
    cacheShards: 1,
  },
  'split-clients': {
    apiReplicas: 2,
    apiAutoscaling: null,
    web: true,
    webReplicas: 1,
    webAutoscaling: null,
    ingress: false,
    cdn: false,
    databaseSeparate: true,
    databaseStorage: '5Gi',
    readReplicas: 0,
    cache: false,
    cacheShards: 1,
  },
  'load-balanced': {
    apiReplicas: 2,
    apiAutoscaling: { minReplicas: 2, maxReplicas: 10 },
    web: true,
    webReplicas: 2,
    webAutoscaling: null,
    ingress: true,
    cdn: false,
    databaseSeparate: true,
    databaseStorage: '10Gi',
    readReplicas: 0,
    cache: false,
    cacheShards: 1,
  },
  cdn: {
    apiReplicas: 3,
    apiAutoscaling: { minReplicas: 3, maxReplicas: 20 },
    web: true,
    webReplicas: 2,
    webAutoscaling: { minReplicas: 2, maxReplicas: 6 },
    ingress: true,
    cdn: true,
    databaseSeparate: true,
    databaseStorage: '20Gi',
    readReplicas: 0,
    cache: false,
    cacheShards: 1,
  },
  'data-layer': {
    apiReplicas: 3,
    apiAutoscaling: { minReplicas: 3, maxReplicas: 50 },
    web: true,
    webReplicas: 2,
    webAutoscaling: { minReplicas: 2, maxReplicas: 10 },
    ingress: true,
    cdn: true,
    databaseSeparate: true,
    databaseStorage: '50Gi',
    readReplicas: 2,
    cache: true,
    cacheShards: 3,
  },
};

const SMALL_RESOURCES: ResourceRequirements = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { memory: '256Mi' },
};
const LARGE_RESOURCES: ResourceRequirements = {
  requests: { cpu: '250m', memory: '256Mi' },
  limits: { memory: '512Mi' },
};
const DATABASE_RESOURCES: ResourceRequirements = {
  requests: { cpu: '250m', memory: '256Mi' },
  limits: { memory: '1Gi' },
};
const CACHE_RESOURCES: ResourceRequirements = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { memory: '256Mi' },
};
const DEFAULT_AUTOSCALING = { minReplicas: 2, maxReplicas: 10 };
const DEFAULT_TARGET_CPU = 70;
const DEFAULT_CACHE_TTL_SECONDS = 30;
const DEFAULT_DATABASE_VERSION = '16';
/** How far behind (seconds of replay) a read replica may be and still serve reads. */
export const DEFAULT_MAX_REPLICA_LAG_SECONDS = 30;

/**
 * Networks whose clients pg_hba admits over TLS when spec.database.allowedCIDRs is omitted: every IPv4 and IPv6 range
 * the IANA special-purpose registries mark as not globally reachable and that pod networks are drawn from (RFC 1918,
 * shared address space 100.64.0.0/10, the benchmarking range 198.18.0.0/15, unique local fc00::/7). Public addresses
 * are refused; the NetworkPolicies narrow the sources to the app's own pods.
 */
export const DEFAULT_DB_ALLOWED_CIDRS = ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', '198.18.0.0/15', 'fc00::/7'] as const;

const DEFAULT_ORIGIN_SIZE = '20Gi';
/** Each Redis node's volume: it holds only nodes.conf (the cache itself is not persisted). */
const DEFAULT_CACHE_SIZE = '256Mi';
const DEFAULT_S3_REGION = 'us-east-1';

/** Maps a users hint to its stage: the last stage whose threshold the hint reaches. */
export function stageForUsers(users: number): Stage {
  let stage: Stage = 'single-machine';
  for (const candidate of STAGES) if (users >= STAGE_THRESHOLDS[candidate]) stage = candidate;
  return stage;
}

function on(tier: { enabled?: boolean } | undefined): boolean {
  return tier !== undefined && tier.enabled !== false;
}

/** The stage implied by the tiers a spec configures, used when spec.users is absent: the highest stage whose tier is present. */
export function stageForTiers(spec: GraminstaAppSpec): Stage {
  if (on(spec.cache) || (spec.database?.readReplicas ?? 0) > 0) return 'data-layer';
  if (on(spec.cdn)) return 'cdn';
  if (on(spec.ingress) || spec.api?.autoscaling !== undefined) return 'load-balanced';
  if (on(spec.web)) return 'split-clients';
  if (spec.database?.external !== undefined || spec.database?.storage !== undefined) return 'split-database';
  return 'single-machine';
}

/** The stage an app runs at: from spec.users when set, otherwise from the tiers it configures. */
export function resolveStage(app: Pick<GraminstaApp, 'spec'>): Stage {
  const spec = app.spec ?? {};
  return spec.users !== undefined ? stageForUsers(spec.users) : stageForTiers(spec);
}

function enabled(tier: { enabled?: boolean } | undefined, preset: boolean): boolean {
  if (tier?.enabled !== undefined) return tier.enabled;
  return tier !== undefined || preset;
}

function resolveAutoscaling(
  explicit: AutoscalingSpec | undefined,
  presetBounds: { minReplicas: number; maxReplicas: number } | null,
  explicitReplicas: number | undefined,
): EffectiveAutoscaling | null {
  if (explicit === undefined && (presetBounds === null || explicitReplicas !== undefined)) return null;
  const bounds = presetBounds ?? DEFAULT_AUTOSCALING;
  const maxFromUser = explicit?.maxReplicas;
  const minFromUser = explicit?.minReplicas;
  const minReplicas = minFromUser ?? Math.min(bounds.minReplicas, maxFromUser ?? bounds.minReplicas);
  const maxReplicas = maxFromUser ?? Math.max(bounds.maxReplicas, minReplicas);
  const out: EffectiveAutoscaling = {
    minReplicas,
    maxReplicas,
    targetCPUUtilizationPercentage: explicit?.targetCPUUtilizationPercentage ?? DEFAULT_TARGET_CPU,
  };
  if (explicit?.behavior !== undefined) out.behavior = explicit.behavior;
  return out;
}

function storageOf(
  explicit: { size?: string | number; storageClassName?: string } | undefined,
  size: string,
): EffectiveStorage {
  const out: EffectiveStorage = { size: explicit?.size ?? size };
  if (explicit?.storageClassName) out.storageClassName = explicit.storageClassName;
  return out;
}

/** The app's spec with its stage preset applied; explicit fields always win over the preset. */
export function effectiveSpec(app: Pick<GraminstaApp, 'spec'>): EffectiveSpec {
  const spec = app.spec ?? {};
  const stage = resolveStage(app);
  const preset = PRESETS[stage];
  const large = STAGES.indexOf(stage) >= STAGES.indexOf('load-balanced');
  const tierResources = large ? LARGE_RESOURCES : SMALL_RESOURCES;

  const api: EffectiveWorkload = {
    replicas: spec.api?.replicas ?? preset.apiReplicas,
    autoscaling: resolveAutoscaling(spec.api?.autoscaling, preset.apiAutoscaling, spec.api?.replicas),
    resources: spec.api?.resources ?? tierResources,
  };

  const web: EffectiveSpec['web'] = enabled(spec.web, preset.web)
    ? {
        enabled: true,
        replicas: spec.web?.replicas ?? preset.webReplicas,
        autoscaling: resolveAutoscaling(spec.web?.autoscaling, preset.webAutoscaling, spec.web?.replicas),
        resources: spec.web?.resources ?? SMALL_RESOURCES,
      }
    : null;

  let ingress: EffectiveSpec['ingress'] = null;
  if (enabled(spec.ingress, preset.ingress)) {
    const { enabled: _enabled, annotations, ...rest } = spec.ingress ?? {};
    ingress = { ...rest, annotations: annotations ?? {} };
  }

  let cdn: EffectiveSpec['cdn'] = null;
  if (enabled(spec.cdn, preset.cdn)) {
    const s3 = spec.cdn?.origin?.s3;
    cdn = {
      origin: s3
        ? { kind: 's3', s3: { ...s3, region: s3.region ?? DEFAULT_S3_REGION } }
        : { kind: 'origin', storage: storageOf(spec.cdn?.origin?.volume, DEFAULT_ORIGIN_SIZE) },
    };
    if (spec.cdn?.publicBaseURL) cdn.publicBaseURL = spec.cdn.publicBaseURL;
  }

  const db = spec.database ?? {};
  const readReplicas = db.external ? 0 : (db.readReplicas ?? preset.readReplicas);
  const database: EffectiveSpec['database'] = {
    placement: db.external ? 'external' : preset.databaseSeparate || readReplicas > 0 ? 'in-cluster' : 'embedded',
    external: db.external
      ? {
          secretName: db.external.secretName,
          sslRootCert: db.external.sslRootCert ? { secretName: db.external.sslRootCert.secretName, key: db.external.sslRootCert.key ?? 'ca.crt' } : null,
        }
      : null,
    image: db.image ?? '',
    readReplicas,
    maxReplicaLagSeconds: db.maxReplicaLagSeconds ?? DEFAULT_MAX_REPLICA_LAG_SECONDS,
    allowedCIDRs: db.allowedCIDRs ?? [...DEFAULT_DB_ALLOWED_CIDRS],
    storage: storageOf(db.storage, preset.databaseStorage),
    version: db.version ?? DEFAULT_DATABASE_VERSION,
    resources: db.resources ?? DATABASE_RESOURCES,
    backup: db.backup ?? null,
    restoreFrom: db.restoreFrom ?? null,
  };

  let cache: EffectiveSpec['cache'] = null;
  if (enabled(spec.cache, preset.cache)) {
    const shards = spec.cache?.shards ?? preset.cacheShards;
    cache = {
      mode: shards >= 3 ? 'cluster' : 'standalone',
      shards,
      replicasPerShard: shards >= 3 ? (spec.cache?.replicasPerShard ?? 1) : 0,
      ttlSeconds: spec.cache?.ttlSeconds ?? DEFAULT_CACHE_TTL_SECONDS,
      storage: storageOf(spec.cache?.storage, DEFAULT_CACHE_SIZE),
      image: spec.cache?.image ?? '',
      resources: spec.cache?.resources ?? CACHE_RESOURCES,
    };
  }

  return {
    stage,
    image: spec.image ?? '',
    paused: spec.paused ?? false,
    api,
    rateLimits: rateLimitsOf(spec.api?.rateLimits),
    networkPolicy: spec.networkPolicy?.enabled === false ? null : { ingressFrom: spec.networkPolicy?.ingressFrom ?? [] },
    web,
    ingress,
    cdn,
    database,
    cache,
    monitoring: spec.monitoring?.enabled ? { labels: { ...spec.monitoring.labels } } : null,
  };
}
