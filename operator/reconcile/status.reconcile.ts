// Pure status computation: from what the informers observed to the GraminstaApp status, conditions
// included. No I/O and no clock: `now` is passed in.
import type { V1Deployment, V1StatefulSet, V1Job, V1Pod, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { DatabasePlacement } from '../api/presets.api.js';
import type { Stage } from '../api/schema.api.js';
import type { Condition, DatabaseStatus, GraminstaAppStatus, ImageStoreStatus } from '../api/types.gen.js';
import { ingressState, type IngressObservation } from './ingress-status.reconcile.js';
import { jobFailure } from './transition.reconcile.js';
import { backupState, restoreState, type BackupObservation, type ConditionState, type RestoreObservation } from './backup-status.reconcile.js';
import type { VolumeNote } from './volumes.reconcile.js';

/** A condition shaped like metav1.Condition (the generated type, from schema.api.ts). */
export type { Condition } from '../api/types.gen.js';

/** The tiers whose readiness the status reports, each with its condition type. */
export const tierConditions = ['ApiReady', 'WebReady', 'DatabaseReady', 'CacheReady', 'IngressReady'] as const;

/** The readiness of one tier as observed. */
export interface TierState {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

/** What the reconciler observed this round, grouped by tier. */
export interface Observation {
  generation: number;
  stage: Stage;
  /** The api workload: a Deployment, or at single-machine the StatefulSet whose pod runs api and Postgres. */
  apiWorkload?: V1Deployment | V1StatefulSet;
  apiAutoscaler?: V2HorizontalPodAutoscaler;
  /** The desired api replica count when no HPA scales it. */
  apiDesiredReplicas: number;
  webEnabled: boolean;
  webDeployment?: V1Deployment;
  /** The desired web replica count when no HPA scales it. */
  webDesiredReplicas: number;
  webAutoscaler?: V2HorizontalPodAutoscaler;
  database: { placement: DatabasePlacement; primary?: V1StatefulSet; replicas?: V1StatefulSet; desiredReplicas: number };
  cache: {
    enabled: boolean;
    nodes?: V1StatefulSet[];
    desiredNodes: number;
    /** The Job the cache waits for: the form Job, or the copy Job of a change of mode once the form Job succeeded. */
    formJob?: V1Job;
    /** Whether formJob copies the keys of the mode the cache leaves (standalone <-> cluster) rather than forming. */
    copying?: boolean;
    /** The wanted shape (spec.cache); omitted: not reported. */
    shape?: CacheShape;
    /** The shape last carried out (the previous status.cache.shards and replicasPerShard); omitted or 0 shards: none yet. */
    formed?: CacheShape;
  };
  migrateJob?: V1Job;
  /** The Ingress, or the HTTPRoutes of spec.ingress.gatewayRef; omitted: no ingress tier. */
  ingress?: IngressObservation;
  endpoints: { api: string; web: string; cdn: string };
  selector: string;
  /** Containers of the app's pods that cannot start or keep crashing (podIssues of the cached pods). */
  podIssues?: PodIssue[];
  /** An error met while reconciling: terminal ones (a user must act) make the app Stalled, others keep it Reconciling. */
  error?: { reason: string; message: string; terminal: boolean };
  /** What the last pass still waits for (objects not yet applied, observed or rolled out), one line each. */
  waiting?: string[];
  /** Volumes not at their desired size (the tier keeps serving: its condition says so in reason and message). */
  volumes?: VolumeNote[];
  /** Where the photos are stored now (the old store while a move to another is under way). */
  imageStore?: ImageStoreStatus;
  /** Names of the desired Jobs that have succeeded (completedJobsOf), for status.completedJobs. */
  completedJobs?: string[];
  /** The backup CronJob, its Jobs and pods, when the app has backups (spec.database.backup). */
  backup?: BackupObservation;
  /** The primary's pod, when the app restores from a backup (spec.database.restoreFrom). */
  restore?: RestoreObservation;
  /** The Mermaid text of the app's topology, for status.diagram. */
  diagram?: string;
  paused: boolean;
}

/** The shape of the cache: shards (1 = standalone) and replicas per shard. */
export interface CacheShape {
  shards: number;
  replicasPerShard: number;
}

/** The move from the shape last carried out to the wanted one while the form Job runs, or undefined when the form Job is not resharding. */
export function reshardingOf(o: Observation): { from: CacheShape; to: CacheShape } | undefined {
  const { formJob, formed, shape } = o.cache;
  if (!o.cache.enabled || !formJob || (formJob.status?.succeeded ?? 0) > 0 || !formed || !shape || formed.shards === 0) return undefined;
  if (formed.shards === shape.shards && formed.replicasPerShard === shape.replicasPerShard) return undefined;
  return { from: formed, to: shape };
}

/** The shape the cache has been brought to: the wanted one once its form Job succeeded (a standalone: once its node is ready), else the recorded one. */
function formedShape(o: Observation, readyNodes: number): CacheShape {
  const none = { shards: 0, replicasPerShard: 0 };
  if (!o.cache.enabled) return none;
  const recorded = o.cache.formed ?? none;
  const shape = o.cache.shape;
  if (!shape) return recorded;
  const job = o.cache.formJob;
  const done = shape.shards === 1 ? readyNodes >= o.cache.desiredNodes && (!job || (job.status?.succeeded ?? 0) > 0) : (job?.status?.succeeded ?? 0) > 0;
  return done ? shape : recorded;
}

/** A container of one of the app's pods that is stuck: what a user must see on the tier's condition. */
export interface PodIssue {
  /** The pod's app.kubernetes.io/component label. */
  component: string;
  pod: string;
  container: string;
  /** The kubelet's reason: ImagePullBackOff, ErrImagePull, CrashLoopBackOff, CreateContainerConfigError, ... */
  reason: string;
  message: string;
}

/** Waiting reasons that do not pass by themselves: a user (or the operator's settings) must act. */
const STUCK_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** The stuck containers of the given pods, in a stable order (pod, then container). */
export function podIssues(pods: readonly V1Pod[]): PodIssue[] {
  const out: PodIssue[] = [];
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    const component = pod.metadata?.labels?.['app.kubernetes.io/component'] ?? '';
    for (const c of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const waiting = c.state?.waiting;
      if (!waiting?.reason || !STUCK_REASONS.has(waiting.reason)) continue;
      const detail = (waiting.message ?? '').split('\n')[0]!.slice(0, 300);
      out.push({ component, pod: pod.metadata?.name ?? '', container: c.name, reason: waiting.reason, message: `${c.image}${detail ? `: ${detail}` : ''}` });
    }
  }
  return out.sort((a, b) => a.pod.localeCompare(b.pod) || a.container.localeCompare(b.container));
}

/** The pod components behind each tier condition. */
const TIER_COMPONENTS: Record<(typeof tierConditions)[number], readonly string[]> = {
  ApiReady: ['api'],
  WebReady: ['web'],
  DatabaseReady: ['database', 'database-replica', 'migrate'],
  CacheReady: ['cache', 'cache-init'],
  IngressReady: [],
};

/** A tier that is not ready because a container is stuck says so: the kubelet's reason, the pod, the container and its image. */
function explainStuck(t: TierState, tier: (typeof tierConditions)[number], o: Observation): TierState {
  if (t.status === 'True') return t;
  // At single-machine the API runs in the database's pod.
  const components = tier === 'ApiReady' && o.database.placement === 'embedded' ? ['api', 'database'] : TIER_COMPONENTS[tier];
  const issues = (o.podIssues ?? []).filter((i) => components.includes(i.component));
  const first = issues[0];
  if (!first) return t;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more container(s))` : '';
  return { status: 'False', reason: first.reason, message: `pod ${first.pod} container ${first.container}: ${first.reason} ${first.message}${more}; ${t.message}` };
}

/** T with every field present, nested objects included (arrays and their items are kept as they are). */
type Filled<T> = {
  [K in keyof T]-?: NonNullable<T[K]> extends readonly unknown[] ? NonNullable<T[K]> : NonNullable<T[K]> extends object ? Filled<NonNullable<T[K]>> : NonNullable<T[K]>;
};

/** The status subtree the operator writes: the generated GraminstaAppStatus with every field filled in but imageStore. */
export type AppStatus = Filled<Omit<GraminstaAppStatus, 'imageStore' | 'database'>> &
  Pick<GraminstaAppStatus, 'imageStore'> & { database: Filled<Omit<DatabaseStatus, 'lastBackup'>> & Pick<DatabaseStatus, 'lastBackup'> };

function rolledOut(d: V1Deployment | V1StatefulSet | undefined, want: number): TierState | undefined {
  if (!d) return { status: 'False', reason: 'NotCreated', message: 'waiting for the workload to be created' };
  const s = d.status ?? {};
  const gen = d.metadata?.generation ?? 0;
  if ((s.observedGeneration ?? 0) < gen) {
    return { status: 'False', reason: 'RolloutPending', message: `${d.kind ?? 'workload'} ${d.metadata?.name} has not observed its latest spec yet` };
  }
  const ready = s.readyReplicas ?? 0;
  const updated = s.updatedReplicas ?? 0;
  if (ready < want) {
    return { status: 'False', reason: 'PodsNotReady', message: `${ready}/${want} pods of ${d.metadata?.name} are ready` };
  }
  if (updated < want) {
    return { status: 'False', reason: 'RollingUpdate', message: `${updated}/${want} pods of ${d.metadata?.name} run the latest template` };
  }
  return undefined;
}

/** The number of pods a tier should run now: the HPA's current desire (at least its minimum), else the fixed count. */
export function wantedReplicas(autoscaler: V2HorizontalPodAutoscaler | undefined, fixed: number): number {
  if (!autoscaler) return fixed;
  return Math.max(autoscaler.status?.desiredReplicas ?? 0, autoscaler.spec?.minReplicas ?? 1, 1);
}

/** The number of ready pods that make a tier ready: an HPA's minimum (so a scale-up does not make it un-ready), else the fixed count. */
export function readyThreshold(autoscaler: V2HorizontalPodAutoscaler | undefined, fixed: number): number {
  if (!autoscaler) return fixed;
  return Math.max(autoscaler.spec?.minReplicas ?? 1, 1);
}

/** The number of api pods that should run now. */
export function apiWanted(o: Observation): number {
  return wantedReplicas(o.apiAutoscaler, o.apiDesiredReplicas);
}

/** The number of web pods that should run now. */
export function webWanted(o: Observation): number {
  return wantedReplicas(o.webAutoscaler, o.webDesiredReplicas);
}

/** Readiness of each tier, by condition type. */
export function tierStates(o: Observation): Record<(typeof tierConditions)[number], TierState> {
  const api = rolledOut(o.apiWorkload, readyThreshold(o.apiAutoscaler, o.apiDesiredReplicas));
  let web: TierState | undefined = { status: 'True', reason: 'NotRequired', message: `the web client is served by the api tier at stage ${o.stage}` };
  if (o.webEnabled) web = rolledOut(o.webDeployment, readyThreshold(o.webAutoscaler, o.webDesiredReplicas));

  let database: TierState | undefined;
  if (o.database.placement === 'external') {
    database = { status: 'True', reason: 'External', message: 'using the external database from its Secret' };
  } else if (o.database.placement === 'embedded') {
    database = api ? { status: 'False', reason: api.reason, message: `the database runs beside the api: ${api.message}` } : undefined;
  } else {
    database = rolledOut(o.database.primary, 1) ?? rolledOut(o.database.replicas, o.database.desiredReplicas);
    if (o.database.desiredReplicas === 0) database = rolledOut(o.database.primary, 1);
  }
  if (!database && o.migrateJob && !(o.migrateJob.status?.succeeded ?? 0)) {
    const failed = !!jobFailure(o.migrateJob);
    database = failed
      ? { status: 'False', reason: 'MigrationFailed', message: `Job ${o.migrateJob.metadata?.name} failed: see its pod logs` }
      : { status: 'False', reason: 'Migrating', message: `waiting for the schema migration Job ${o.migrateJob.metadata?.name}` };
  }

  let cache: TierState | undefined = { status: 'True', reason: 'NotRequired', message: `no cache at stage ${o.stage}` };
  if (o.cache.enabled) {
    const nodes = o.cache.nodes ?? [];
    const ready = nodes.reduce((n, s) => n + (s.status?.readyReplicas ?? 0), 0);
    cache = undefined;
    if (ready < o.cache.desiredNodes) {
      cache = { status: 'False', reason: 'NodesNotReady', message: `${ready}/${o.cache.desiredNodes} Redis nodes are ready` };
    } else if (o.cache.formJob && !(o.cache.formJob.status?.succeeded ?? 0)) {
      const move = reshardingOf(o);
      cache = move
        ? {
            status: 'False',
            reason: 'Resharding',
            message: `Job ${o.cache.formJob.metadata?.name} is ${o.cache.copying ? 'copying the keys' : 'moving slots'} from ${describeShape(move.from)} to ${describeShape(move.to)}; the cache keeps answering`,
          }
        : { status: 'False', reason: 'ClusterForming', message: `waiting for Job ${o.cache.formJob.metadata?.name} to form the Redis Cluster` };
    }
  }
  const ok = (t: TierState | undefined, what: string): TierState => t ?? { status: 'True', reason: 'Ready', message: `${what} is ready` };
  return {
    ApiReady: noteVolumes(explainStuck(ok(api, 'the api tier'), 'ApiReady', o), 'ApiReady', o),
    WebReady: explainStuck(ok(web, 'the web tier'), 'WebReady', o),
    DatabaseReady: noteVolumes(explainStuck(ok(database, 'the database'), 'DatabaseReady', o), 'DatabaseReady', o),
    CacheReady: noteVolumes(explainStuck(ok(cache, 'the cache'), 'CacheReady', o), 'CacheReady', o),
    IngressReady: ingressState(o.ingress ?? { kind: 'none' }, o.stage),
  };
}

function describeShape(s: CacheShape): string {
  return s.shards === 1 ? 'a standalone node' : `${s.shards} shards with ${s.replicasPerShard} replica(s) each`;
}

/**
 * A ready tier whose volumes are not at their desired size stays ready (it serves) and takes the volume's reason
 * (VolumeResizing, VolumeExpansionNotAllowed, VolumeCannotShrink); a tier not ready adds the volume's message.
 */
function noteVolumes(t: TierState, tier: VolumeNote['tier'], o: Observation): TierState {
  const notes = (o.volumes ?? []).filter((v) => v.tier === tier);
  if (notes.length === 0) return t;
  const message = notes.map((v) => v.message).join('; ');
  if (t.status === 'True') return { status: 'True', reason: notes[0]!.reason, message: `${t.message}; ${message}` };
  return { ...t, message: `${t.message}; ${message}` };
}

/** Keeps lastTransitionTime of a condition whose status did not change. */
export function setCondition(previous: Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: string): Condition {
  const old = previous?.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : now;
  return { ...next, lastTransitionTime };
}

/**
 * Computes the whole status from an observation and the previous status. The conditions follow the kstatus
 * conventions that Flux, Argo CD and kpt read: `Reconciling` is True while a change is being applied or rolled
 * out (or retried after a transient error), `Stalled` is True only for a problem that needs someone to act, and
 * `Ready` is True once every tier serves the current generation and nothing is left to do.
 */
export function computeStatus(o: Observation, previous: Partial<AppStatus> | undefined, now: string): AppStatus {
  const tiers = tierStates(o);
  const notReady = tierConditions.filter((t) => tiers[t].status !== 'True');
  const waiting = o.waiting ?? [];
  const stalled = o.error?.terminal ? o.error : undefined;
  const retrying = o.error && !o.error.terminal ? o.error : undefined;
  const conditions: Condition[] = [];
  const put = (c: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>) =>
    conditions.push(setCondition(previous?.conditions, { ...c, observedGeneration: o.generation }, now));

  const pending = [...notReady.map((t) => `${t}: ${tiers[t].message}`), ...waiting];
  if (stalled) {
    put({ type: 'Ready', status: 'False', reason: stalled.reason, message: stalled.message });
  } else if (pending.length === 0) {
    put({ type: 'Ready', status: 'True', reason: 'AllTiersReady', message: `all tiers of stage ${o.stage} are ready` });
  } else {
    put({ type: 'Ready', status: 'False', reason: notReady.length ? 'TiersNotReady' : 'Reconciling', message: pending.join('; ') });
  }
  if (o.paused) {
    put({ type: 'Reconciling', status: 'False', reason: 'Paused', message: 'spec.paused is true: the operator changes nothing until it is false' });
  } else if (stalled) {
    put({ type: 'Reconciling', status: 'False', reason: 'Stalled', message: 'waiting for the problem in the Stalled condition to be fixed' });
  } else if (retrying) {
    put({ type: 'Reconciling', status: 'True', reason: 'RetryingAfterError', message: `${retrying.reason}: ${retrying.message}` });
  } else if (pending.length > 0) {
    put({ type: 'Reconciling', status: 'True', reason: 'Progressing', message: `rolling out stage ${o.stage}: ${pending.join('; ')}` });
  } else {
    put({ type: 'Reconciling', status: 'False', reason: 'ReconcileComplete', message: `stage ${o.stage} is rolled out` });
  }
  put(
    stalled
      ? { type: 'Stalled', status: 'True', reason: stalled.reason, message: stalled.message }
      : { type: 'Stalled', status: 'False', reason: 'AsExpected', message: 'no problem needs attention' },
  );
  for (const t of tierConditions) put({ type: t, ...tiers[t] });
  // Backups and restores are reported beside the tiers, not in Ready: a failed backup does not stop the app serving.
  const backup = o.backup ? backupState(o.backup, previous?.database?.lastBackup) : undefined;
  if (backup) put({ type: 'BackupReady', ...backup.condition });
  if (o.restore) {
    const before = previous?.conditions?.find((c) => c.type === 'Restored');
    put({ type: 'Restored', ...restoreState(o.restore, before as ConditionState | undefined) });
  }
  const lastBackup = backup ? backup.lastBackup : previous?.database?.lastBackup;

  const apiReady = o.apiWorkload?.status?.readyReplicas ?? 0;
  const apiReplicas = o.apiWorkload?.status?.replicas ?? 0;
  const webReady = o.webDeployment?.status?.readyReplicas ?? 0;
  const dbReplicasReady = o.database.replicas?.status?.readyReplicas ?? 0;
  const cacheReady = (o.cache.nodes ?? []).reduce((n, s) => n + (s.status?.readyReplicas ?? 0), 0);
  const primaryReady =
    o.database.placement === 'external' ||
    (o.database.placement === 'embedded' ? apiReady > 0 : (o.database.primary?.status?.readyReplicas ?? 0) > 0);
  return {
    observedGeneration: o.generation,
    stage: o.stage,
    conditions,
    api: { replicas: apiReplicas, readyReplicas: apiReady, summary: `${apiReady}/${apiWanted(o)}` },
    web: {
      replicas: o.webDeployment?.status?.replicas ?? 0,
      readyReplicas: webReady,
      summary: o.webEnabled ? `${webReady}/${webWanted(o)}` : 'api',
    },
    database: { primaryReady, readyReplicas: dbReplicasReady, summary: databaseSummary(o, primaryReady, dbReplicasReady), ...(lastBackup ? { lastBackup } : {}) },
    cache: { readyNodes: cacheReady, ...formedShape(o, cacheReady), summary: cacheSummary(o, cacheReady) },
    endpoints: o.endpoints,
    ...(o.imageStore ? { imageStore: o.imageStore } : {}),
    completedJobs: o.completedJobs ?? [],
    diagram: o.diagram ?? '',
    replicas: apiReplicas,
    selector: o.selector,
  };
}

function cacheSummary(o: Observation, ready: number): string {
  if (!o.cache.enabled) return 'off';
  const move = reshardingOf(o);
  return `${ready}/${o.cache.desiredNodes}${move ? ` resharding ${move.from.shards}->${move.to.shards}` : ''}`;
}

function databaseSummary(o: Observation, primaryReady: boolean, replicasReady: number): string {
  if (o.database.placement === 'external') return 'external';
  const primary = primaryReady ? 'ready' : 'starting';
  if (o.database.placement === 'embedded') return `${primary} (in api pod)`;
  return o.database.desiredReplicas > 0 ? `${primary}+${replicasReady}/${o.database.desiredReplicas}` : primary;
}

/** True when two statuses differ in anything but key order. */
export function statusChanged(a: unknown, b: unknown): boolean {
  return canonical(a) !== canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([x], [y]) => x.localeCompare(y)))
      : value,
  );
}

