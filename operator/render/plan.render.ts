// The plan: what an app's spec means, derived once per reconcile (presets applied, images resolved, names,
// endpoints and counts computed). Every builder reads from it; none looks at the app again.
import {
  effectiveSpec,
  type DatabasePlacement,
  type EffectiveSpec,
  type EffectiveWorkload,
} from '../api/presets.api.js';
import { postgresImageFor, type ImageSettings } from '../api/images.api.js';
import type { BackupS3Spec, GraminstaApp, ImageStoreStatus, ResourceRequirements, S3OriginSpec } from '../api/types.gen.js';
import { REDIS_PORT } from './constants.render.js';
import { endpointsOf, type Endpoints } from './endpoints.render.js';
import { appNames, serviceHost, type AppNames } from './names.render.js';

/** The in-cluster Postgres (in the API pod or in its own StatefulSets). */
export interface InClusterDatabasePlan {
  placement: Exclude<DatabasePlacement, 'external'>;
  version: string;
  size: string;
  storageClassName?: string;
  /** Streaming replicas; always 0 when embedded. */
  readReplicas: number;
  /** A replica further behind than this leaves the -ro Service (its readiness probe). */
  maxReplicaLagSeconds: number;
  /** Networks pg_hba admits over TLS besides loopback (spec.database.allowedCIDRs, checked). */
  allowedCIDRs: string[];
  resources: ResourceRequirements;
  /** Scheduled backups (spec.database.backup); null: none. */
  backup: BackupPlan | null;
  /** The backup a new database starts from (spec.database.restoreFrom); null: it starts empty. */
  restore: RestorePlan | null;
}

/** A bucket of backups with its defaults applied. */
export type BackupBucket = BackupS3Spec & { region: string; prefix: string };

/** Scheduled backups: when, which to keep, where. */
export interface BackupPlan {
  schedule: string;
  retention: { count: number } | { days: number } | null;
  suspend: boolean;
  s3: BackupBucket;
}

/** The backup a new database is loaded from: a name or latest. */
export interface RestorePlan {
  s3: BackupBucket;
  backup: string;
}

/** Where Postgres runs and how it is configured. */
export type DatabasePlan =
  | InClusterDatabasePlan
  /** sslRootCert: the key of a Secret holding the CA certificate(s) the connections verify the server with; null: none. */
  | { placement: 'external'; secretName: string; sslRootCert: { secretName: string; key: string } | null };

/** Where images are stored: a directory of the single pod's volume, the in-cluster origin, or S3. */
export type StoragePlan =
  | { kind: 'volume' }
  | { kind: 'origin'; size: string; storageClassName?: string }
  | { kind: 's3'; s3: S3OriginSpec & { region: string } };

/** The Redis cache with its node count and seed list computed. */
export type CachePlan = Omit<NonNullable<EffectiveSpec['cache']>, 'image'> & {
  /** Redis pods: 1 standalone, else shards x (1 + replicasPerShard). */
  nodeCount: number;
  /** host:port of the standalone Service, or of every cluster node's stable DNS name, comma-separated. */
  nodes: string;
};

/** A Secret the operator generates once (passwords and keys): its name, keys and component. */
export interface GeneratedSecretPlan {
  name: string;
  keys: string[];
  component: 'database' | 'cache' | 'origin' | 'api';
}

/**
 * The in-cluster database's TLS: the CA and server certificate Secrets (issued and renewed by the reconciler, never in
 * a config hash, so a renewal restarts nothing) and the names the server certificate must carry.
 */
export interface DatabaseTlsPlan {
  caSecret: string;
  serverSecret: string;
  /** Every name clients and replicas reach Postgres by: the Services in short, namespaced, .svc and .svc.cluster.local forms, their pods (wildcards), localhost. */
  dnsNames: string[];
  /** Loopback addresses: the clients inside the Postgres pod connect to 127.0.0.1. */
  ipAddresses: string[];
}

/** Everything the builders decide from. */
export interface Plan {
  names: AppNames;
  stage: EffectiveSpec['stage'];
  paused: boolean;
  /** Metrics sidecars, PodMonitors and alerts (spec.monitoring.enabled); null: not monitored. */
  monitoring: EffectiveSpec['monitoring'];
  /** Resolved images: the spec's, else the operator's settings; null where the app runs no such container. */
  images: { service: string; postgres: string | null; redis: string | null };
  api: EffectiveWorkload;
  /** The API's rate limits as the spec sets them (the service defaults the rest); null when switched off. */
  rateLimits: EffectiveSpec['rateLimits'];
  /** Proxies in front of the API that append to X-Forwarded-For: the spec's, else 1 behind the Ingress, else 0. */
  trustedProxyHops: number;
  /** The per-tier NetworkPolicies' settings; null when switched off. */
  networkPolicy: EffectiveSpec['networkPolicy'];
  web: EffectiveWorkload | null;
  ingress: EffectiveSpec['ingress'];
  database: DatabasePlan;
  /** TLS of the in-cluster database; null with an external one. */
  databaseTls: DatabaseTlsPlan | null;
  cache: CachePlan | null;
  storage: StoragePlan;
  cdnBaseURL: string;
  endpoints: Endpoints;
  generatedSecrets: GeneratedSecretPlan[];
  /** Where the photos go from now on (status.imageStore once the move to it is complete). */
  imageStore: ImageStoreStatus;
  /** A move of the photos from the store recorded in status.imageStore to imageStore; null when they are already there. */
  imageMove: { from: ImageStoreStatus; to: ImageStoreStatus } | null;
}

/** Size of the in-cluster origin volume when the app has no cdn tier yet (images still need a shared home). */
export const PRE_CDN_ORIGIN_SIZE = '5Gi';

/** Keys of the generated database Secret. */
export const DB_SECRET_KEYS = { password: 'password', replicationPassword: 'replication-password' } as const;
/** Key of the generated Redis Secret. */
export const REDIS_SECRET_KEY = 'password';
/** Key of the generated origin Secret (shared by the API and the origin). */
export const ORIGIN_SECRET_KEY = 'token';
/** Key of the generated token Secret (HMAC key of bearer tokens). */
export const TOKEN_SECRET_KEY = 'token-secret';

function bucketOf(s3: BackupS3Spec): BackupBucket {
  return { ...s3, region: s3.region || 'us-east-1', prefix: s3.prefix ?? '' };
}

function backupPlan(backup: EffectiveSpec['database']['backup']): BackupPlan | null {
  if (!backup) return null;
  const r = backup.retention;
  if (r && (r.count === undefined) === (r.days === undefined)) throw new Error('spec.database.backup.retention: set exactly one of count or days');
  const retention = r?.count !== undefined ? { count: r.count } : r?.days !== undefined ? { days: r.days } : null;
  return { schedule: backup.schedule, retention, suspend: backup.suspend ?? false, s3: bucketOf(backup.destination.s3) };
}

function databasePlan(db: EffectiveSpec['database']): DatabasePlan {
  if (db.placement === 'external' && db.external) {
    if (db.backup) throw new Error('spec.database.backup: not possible with spec.database.external (it backs up the in-cluster database)');
    if (db.restoreFrom) throw new Error('spec.database.restoreFrom: not possible with spec.database.external (it restores into the in-cluster database)');
    return { placement: 'external', secretName: db.external.secretName, sslRootCert: db.external.sslRootCert };
  }
  // Loopback alone would lock out every pod but Postgres' own once the app grows past one pod.
  if (db.allowedCIDRs.length === 0) throw new Error('spec.database.allowedCIDRs: must name at least one network (omit it for the default ranges)');
  return {
    placement: db.placement === 'embedded' ? 'embedded' : 'in-cluster',
    version: db.version,
    size: String(db.storage.size),
    ...(db.storage.storageClassName ? { storageClassName: db.storage.storageClassName } : {}),
    readReplicas: db.placement === 'embedded' ? 0 : db.readReplicas,
    maxReplicaLagSeconds: db.maxReplicaLagSeconds,
    allowedCIDRs: db.allowedCIDRs.map((cidr, i) => checkedCIDR(cidr, `spec.database.allowedCIDRs[${i}]`)),
    resources: db.resources,
    backup: backupPlan(db.backup),
    restore: db.restoreFrom ? { s3: bucketOf(db.restoreFrom.s3), backup: db.restoreFrom.backup ?? 'latest' } : null,
  };
}

/** 4 or 6 when `address` is an IPv4 or IPv6 address (no zone), else 0: render/ has no node:net. */
export function ipVersion(address: string): 0 | 4 | 6 {
  const v4 = (a: string) => /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(a) && a.split('.').every((o) => Number(o) <= 255 && !/^0\d/.test(o));
  if (v4(address)) return 4;
  const halves = address.split('::');
  if (halves.length > 2) return 0;
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')));
  const last = groups.at(-1)!;
  // An embedded IPv4 tail counts as two groups.
  const tail = last.length > 0 && last.at(-1)!.includes('.') ? last.pop()! : undefined;
  if (tail !== undefined && !v4(tail)) return 0;
  const count = groups.flat().length + (tail !== undefined ? 2 : 0);
  if (!groups.flat().every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return 0;
  return (halves.length === 2 ? count < 8 : count === 8) ? 6 : 0;
}

/** cidr when it is an IPv4 or IPv6 CIDR (address/prefix length); throws naming `field` otherwise. */
export function checkedCIDR(cidr: string, field: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const version = m ? ipVersion(m[1]!) : 0;
  if (!m || version === 0 || Number(m[2]) > (version === 4 ? 32 : 128)) {
    throw new Error(`${field}: ${JSON.stringify(cidr)} is not a CIDR such as 10.244.0.0/16 or fd00::/8`);
  }
  return cidr;
}

/** The names of the server certificate of an in-cluster database: what every client and replica connects to. */
function databaseTlsPlan(names: AppNames, database: DatabasePlan): DatabaseTlsPlan | null {
  if (database.placement === 'external') return null;
  const forms = (name: string) => [name, `${name}.${names.namespace}`, `${name}.${names.namespace}.svc`, `${name}.${names.namespace}.svc.cluster.local`];
  const services = [names.databaseRw, names.databaseRo, names.databaseHeadless, names.databaseReplicaHeadless];
  // Pods by their stable names under the headless Services, whatever the replica count.
  const pods = [names.databaseHeadless, names.databaseReplicaHeadless].flatMap((h) => forms(h).slice(1).map((f) => `*.${f}`));
  return {
    caSecret: names.databaseCa,
    serverSecret: names.databaseTls,
    dnsNames: [...services.flatMap(forms), ...pods, 'localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
  };
}

/**
 * The StatefulSet (and client Service) of a cache mode: a cluster's is `redis`, a standalone's `redis-standalone`, so
 * that on a change of spec.cache.shards between 1 and >= 3 the old mode's nodes keep serving while their keys are copied
 * (ADR 0012, "Standalone <-> cluster").
 */
export function redisStatefulSetName(names: AppNames, mode: CachePlan['mode']): string {
  return mode === 'standalone' ? names.redisStandalone : names.redis;
}

/** The component label of a cache mode's pods (a StatefulSet's selector cannot change, and each mode's Service selects its own). */
export function redisComponent(mode: CachePlan['mode']): 'cache' | 'cache-standalone' {
  return mode === 'standalone' ? 'cache-standalone' : 'cache';
}

function cachePlan(cache: EffectiveSpec['cache'], names: AppNames, database: DatabasePlan): CachePlan | null {
  if (!cache) return null;
  if (cache.shards !== 1 && cache.shards < 3) {
    throw new Error(`spec.cache.shards: must be 1 (standalone) or at least 3 (cluster), got ${cache.shards}`);
  }
  const { image: _image, ...spec } = cache;
  // Like the origin's, the Redis volumes go where the database volume goes unless the spec names a class for them.
  const databaseClass = database.placement === 'external' ? undefined : database.storageClassName;
  const rest = !spec.storage.storageClassName && databaseClass ? { ...spec, storage: { ...spec.storage, storageClassName: databaseClass } } : spec;
  if (cache.mode === 'standalone') {
    return { ...rest, nodeCount: 1, nodes: `${serviceHost(names, names.redisStandalone)}:${REDIS_PORT}` };
  }
  const nodeCount = cache.shards * (1 + cache.replicasPerShard);
  const headless = serviceHost(names, names.redisHeadless);
  const nodes = Array.from({ length: nodeCount }, (_, i) => `${names.redis}-${i}.${headless}:${REDIS_PORT}`);
  return { ...rest, nodeCount, nodes: nodes.join(',') };
}

function storagePlan(cdn: EffectiveSpec['cdn'], database: DatabasePlan): StoragePlan {
  const origin = cdn?.origin;
  if (origin?.kind === 's3') return { kind: 's3', s3: origin.s3 };
  // The origin's volume goes where the spec puts the database's when it names no class of its own: the one
  // hint the spec gives about where the app's volumes belong (the cluster default may not suit them).
  const databaseClass = database.placement === 'external' ? undefined : database.storageClassName;
  if (origin?.kind === 'origin') {
    const { size } = origin.storage;
    const storageClassName = origin.storage.storageClassName ?? databaseClass;
    return { kind: 'origin', size: String(size), ...(storageClassName ? { storageClassName } : {}) };
  }
  if (database.placement === 'embedded') return { kind: 'volume' };
  return { kind: 'origin', size: PRE_CDN_ORIGIN_SIZE, ...(databaseClass ? { storageClassName: databaseClass } : {}) };
}

function generatedSecrets(names: AppNames, plan: Pick<Plan, 'database' | 'cache' | 'storage'>): GeneratedSecretPlan[] {
  const out: GeneratedSecretPlan[] = [];
  if (plan.database.placement !== 'external') {
    out.push({ name: names.databaseSecret, keys: Object.values(DB_SECRET_KEYS), component: 'database' });
  }
  if (plan.cache) out.push({ name: names.redisSecret, keys: [REDIS_SECRET_KEY], component: 'cache' });
  // The token also guards writes to the single-machine pod's image store, so photos can be moved into and out of it.
  if (plan.storage.kind !== 's3') out.push({ name: names.originSecret, keys: [ORIGIN_SECRET_KEY], component: 'origin' });
  out.push({ name: names.tokenSecret, keys: [TOKEN_SECRET_KEY], component: 'api' });
  return out;
}

/**
 * The plan of an app: its stage preset applied (explicit fields winning), images resolved against the operator's
 * settings. Pure; throws an Error naming the spec field when the spec cannot be realised.
 */
export function planOf(app: GraminstaApp, images: ImageSettings): Plan {
  const names = appNames(app);
  const spec = effectiveSpec(app);
  const database = databasePlan(spec.database);

  if (database.placement === 'embedded') {
    // The single pod holds Postgres: it cannot be replicated or scaled by an HPA.
    if (spec.api.autoscaling) {
      throw new Error('spec.api.autoscaling: not possible while Postgres shares the API pod (stage single-machine)');
    }
    if (spec.api.replicas !== 1) {
      throw new Error(
        `spec.api.replicas: must be 1 while Postgres shares the API pod (stage single-machine), got ${spec.api.replicas}`,
      );
    }
  }

  if (spec.ingress?.tls && !spec.ingress.apiHost && !spec.ingress.webHost) {
    throw new Error('spec.ingress.tls: needs apiHost or webHost');
  }
  if (spec.ingress?.gatewayRef && (spec.ingress.className || spec.ingress.tls)) {
    throw new Error('spec.ingress.gatewayRef: excludes the Ingress-only fields className and tls');
  }

  const cache = cachePlan(spec.cache, names, database);
  const storage = storagePlan(spec.cdn, database);
  const cdnBaseURL = spec.cdn?.publicBaseURL ?? '';
  const imageStore = imageStoreOf(storage);
  const recorded = app.status?.imageStore;
  return {
    names,
    stage: spec.stage,
    paused: spec.paused,
    monitoring: spec.monitoring,
    images: {
      service: spec.image || images.service,
      postgres:
        database.placement === 'external'
          ? null
          : spec.database.image || postgresImageFor(images.postgres, database.version),
      redis: spec.cache ? spec.cache.image || images.redis : null,
    },
    api: spec.api,
    rateLimits: spec.rateLimits,
    trustedProxyHops: spec.rateLimits?.trustedProxyHops ?? (spec.ingress ? 1 : 0),
    networkPolicy: spec.networkPolicy,
    web: spec.web,
    ingress: spec.ingress,
    database,
    databaseTls: databaseTlsPlan(names, database),
    cache,
    storage,
    cdnBaseURL,
    endpoints: endpointsOf(names, spec.ingress, spec.web !== null, cdnBaseURL),
    generatedSecrets: generatedSecrets(names, { database, cache, storage }),
    imageStore,
    imageMove: recorded && !sameImageStore(recorded, imageStore) ? { from: recorded, to: imageStore } : null,
  };
}

/** The store a storage plan puts photos in, as status.imageStore records it. */
export function imageStoreOf(storage: StoragePlan): ImageStoreStatus {
  if (storage.kind !== 's3') return { kind: storage.kind };
  const { bucket, region, endpoint, credentialsSecret } = storage.s3;
  return { kind: 's3', bucket, region, ...(endpoint ? { endpoint } : {}), ...(credentialsSecret ? { credentialsSecret } : {}) };
}

/** True when two recorded stores are the same place (the same kind, and for S3 the same bucket at the same endpoint). */
export function sameImageStore(a: ImageStoreStatus, b: ImageStoreStatus): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 's3' || (a.bucket === b.bucket && (a.endpoint ?? '') === (b.endpoint ?? ''));
}

/** The config hashes of the pod templates, one per workload (a change rolls that workload's pods). */
export interface ConfigHashes {
  api: string;
  web: string;
  origin: string;
  database: string;
  databaseReplica: string;
  redis: string;
  singleMachine: string;
}

/** The plan completed with what the cluster holds: generated Secret data, config hashes and Job names. */
export interface ResolvedPlan extends Plan {
  /** Data of every generated Secret, by name: the kept values, and fresh ones for keys that did not exist. */
  secrets: Readonly<Record<string, Readonly<Record<string, string>>>>;
  hashes: ConfigHashes;
  /** Jobs named after what they run, so a change runs a new Job; null where the app has none. */
  jobs: { migrate: string | null; redisInit: string | null };
  /** Whether the cluster serves PodMonitors and PrometheusRules (RenderContext.monitoringApi). */
  monitoringApi: boolean;
  /** Whether the cluster serves HTTPRoutes (RenderContext.gatewayApi). */
  gatewayApi: boolean;
}
