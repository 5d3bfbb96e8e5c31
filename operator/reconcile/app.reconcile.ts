// The GraminstaApp reconciler: re-read the app from the cache, render, apply what differs, prune what
// is no longer desired, and write the status when it changed.
import type { KubernetesObject, V1CronJob, V1Deployment, V1Ingress, V1Job, V1PersistentVolumeClaim, V1Pod, V1StatefulSet, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { GraminstaApp, ImageStoreStatus } from '../api/types.gen.js';
import type { Clock } from '../kube/clock.kube.js';
import type { Logger } from '../kube/logger.kube.js';
import type { ReconcileResult } from '../kube/workqueue.kube.js';
import type { ImageSettings } from '../api/images.api.js';
import { TerminalError, apiMessageOf as messageOf, isAlreadyExists, isNotFound } from '../kube/errors.kube.js';
import { renderApp } from '../render/app.render.js';
import { BACKUP_CREDENTIAL_KEYS, EXTERNAL_DB_KEYS, REQUIRED_EXTERNAL_DB_KEYS, SSL_MODES } from '../render/constants.render.js';
import { AFTER_JOB_ANNOTATION, appNames, selectorLabels } from '../render/names.render.js';
import { planOf, redisStatefulSetName, type Plan } from '../render/plan.render.js';
import { generatedSecretData, isGeneratedSecret, renderGeneratedSecrets } from '../render/secrets.render.js';
import { hashOf } from '../render/hash.render.js';
import { firstDifference } from './compare.reconcile.js';
import { alreadyOwnedMessage, applyWaves, childKinds, decodeSecret, isControlledBy, notOursReason, objectKey, servedApisOf, type ChildKind } from './children.reconcile.js';
import { stuckPodsToReplace } from './rollout.reconcile.js';
import { applyAfter, completedJobsOf, frontDoorToKeep, holdOf, jobFailure, notDone, SWITCH_SETTLE_MS, type Hold } from './transition.reconcile.js';
import { toMermaid } from '../diagram/mermaid.diagram.js';
import { topologyOf } from '../diagram/topology.diagram.js';
import type { RenderedObject } from '../render/app.render.js';
import { gatewayParentRef, httpRouteNames } from '../render/gateway.render.js';
import { ingressState, type IngressObservation, type ObservedRoute } from './ingress-status.reconcile.js';
import { computeStatus, podIssues, statusChanged, type AppStatus, type Observation } from './status.reconcile.js';
import type { EventRecorder } from './events.reconcile.js';
import { decideVolume, type VolumeNote } from './volumes.reconcile.js';
import { carryRedisMode, holdRedisShrink, redisModeLeft } from './reshard.reconcile.js';
import { redisInitJobName } from '../render/cache.render.js';
import type { CertificatePolicy } from './certificates.reconcile.js';
import { reconcileDatabaseTls } from './tls.reconcile.js';

/** How often a failed Job (migrate, Redis cluster forming, photo copy) runs before the app is Stalled. */
export const JOB_ATTEMPTS = 3;

/** Annotation holding the hash of what the operator last applied, so that removed fields are noticed too. */
export const APPLIED_HASH_ANNOTATION = 'graminsta.io/applied-hash';

/** Read access to one informer's cache. */
export interface ObjectCache<T extends KubernetesObject = KubernetesObject> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): ReadonlyArray<T>;
}

/** The requests the reconciler makes to the API server; every write goes through here. */
export interface ClusterClient {
  /** Server-side apply with the operator's field manager, forcing ownership of the fields it sets. */
  apply(obj: KubernetesObject): Promise<KubernetesObject>;
  /** Creates obj; rejects with 409 when it exists. */
  create(obj: KubernetesObject): Promise<KubernetesObject>;
  /** An uncached read; undefined when the object does not exist. */
  read(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubernetesObject | undefined>;
  delete(obj: KubernetesObject, propagationPolicy?: 'Background' | 'Orphan'): Promise<void>;
  /**
   * When the operator's field manager owns spec.replicas of the live object, gives the field (at its live value)
   * to a manager of its own, so that an apply without the field does not reset it (server-side apply's transfer
   * of ownership to an HPA).
   */
  handOverReplicas(obj: KubernetesObject): Promise<void>;
  /** Replaces the status subresource's fields the operator owns. */
  patchStatus(app: GraminstaApp, status: AppStatus): Promise<void>;
  /** Raises a PersistentVolumeClaim's spec.resources.requests.storage (a merge patch; the claim is never recreated). */
  expandClaim(namespace: string, name: string, size: string): Promise<void>;
}

/** Everything the reconciler depends on, passed in. */
export interface AppReconcilerDeps {
  apps: ObjectCache<GraminstaApp>;
  /** The cache of the owned kind, by kind name (Deployment, Service, ...). */
  children(kind: string): ObjectCache;
  /**
   * The kinds watched now (and so pruned), read on every pass; omitted: childKinds. With an optional API's kinds
   * (children.reconcile.ts optionalApis) apps get them: PodMonitors and alerts, HTTPRoutes.
   */
  kinds?: () => readonly ChildKind[];
  /** The cache of the pods the operator's workloads run (labelled managed-by); absent: pod problems are not reported. */
  pods?: ObjectCache<V1Pod>;
  /** The cache of the claims of the app's StatefulSets (labelled by the StatefulSet controller, see CLAIM_SELECTOR). */
  claims: ObjectCache<V1PersistentVolumeClaim>;
  cluster: ClusterClient;
  events: EventRecorder;
  logger: Logger;
  clock: Clock;
  /** The operator's image settings: what apps run when their spec names no image. */
  images: ImageSettings;
  generatePassword(): string;
  /** How long to wait before looking again at a problem a user must fix (a missing Secret). */
  problemRetryMs?: number;
  /** Lifetimes and renewal margins of the database certificates; omitted: CERTIFICATE_POLICY (tests shorten them). */
  certificatePolicy?: CertificatePolicy;
}

/** An error a user must act on: it sets Degraded with its reason and is retried slowly, not with backoff. */
export class UserActionRequired extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'UserActionRequired';
  }
}

/** A problem met while reconciling; terminal ones need a user (or a changed spec) to move on. */
export interface Problem {
  reason: string;
  message: string;
  terminal: boolean;
}

/** What the apply step made of one desired object: held back by a Job it waits for, or applied (or found up to date) as want. */
type Applied =
  | { obj: KubernetesObject; gate: string }
  /** A Job status.completedJobs records as succeeded, gone from the cluster (its TTL): not run again. */
  | { obj: KubernetesObject; completed: true }
  | {
      obj: KubernetesObject;
      /** obj with the app's ownerReference and the applied-hash annotation, as sent to the API server. */
      want: KubernetesObject;
      /** The applied-hash annotation of want. */
      hash: string;
    };

/** Reads a user Secret of the app's namespace (undefined: it does not exist); one pass shares one. */
type SecretReader = (name: string) => Promise<KubernetesObject | undefined>;

/** How far a pass got: whether something is being re-created, what the app still waits for, when to look again. */
interface Convergence {
  recreating: boolean;
  waiting: string[];
  requeueAfterMs?: number;
  /** What keeps existing volumes from their desired size (volumes.reconcile.ts), for the tier conditions. */
  volumes?: VolumeNote[];
  /** Why the credentials Secret of the backups, or of the restore, cannot work (BackupReady, Restored). */
  credentials?: { backup?: string; restore?: string };
}

/** Reconciles GraminstaApps by namespace/name key. */
export class AppReconciler {
  /**
   * The status last written per app uid, with the app's resourceVersion it was computed from: while the
   * cache still holds that version it has not seen the write, and the written status is the previous one
   * (else a quick second pass would write the same status again and repeat its Events).
   */
  private readonly written = new Map<string, { from: string | undefined; status: AppStatus }>();
  /** When traffic last switched to new pods, per app uid: the old pods keep their role until it settled. */
  private readonly switchedAt = new Map<string, number>();
  /** Attempts of the Jobs that failed, by namespace/name (a failed Job is deleted and run again, JOB_ATTEMPTS times in all). */
  private readonly jobAttempts = new Map<string, number>();

  constructor(private readonly deps: AppReconcilerDeps) {}

  private kinds(): readonly ChildKind[] {
    return this.deps.kinds?.() ?? childKinds;
  }

  /** Brings the cluster in line with the app named by key ("namespace/name"). */
  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/');
    if (!namespace || !name) throw new TerminalError(`work queue key "${key}" is not namespace/name`);
    const app = this.deps.apps.get(name, namespace);
    if (!app || app.metadata.deletionTimestamp) return; // gone: garbage collection removes the children
    const log = this.deps.logger.child({ app: key, generation: app.metadata.generation });

    let plan: Plan;
    try {
      plan = planOf(app, this.deps.images);
    } catch (err) {
      // The schema admits it but it cannot be realised; retrying will not change that.
      const message = `spec cannot be realised: ${(err as Error).message}`;
      await this.writeStatus(app, this.observe(app, undefined, [], { reason: 'InvalidSpec', message, terminal: true }), log);
      throw new TerminalError(message, { cause: err });
    }

    let problem: Problem | undefined;
    let desired: KubernetesObject[] = [];
    let failure: unknown;
    let progress: Convergence = { recreating: false, waiting: [] };
    let certificatesDueMs: number | undefined;
    try {
      if (!plan.paused) {
        let credentials: Convergence['credentials'];
        ({ objects: desired, certificatesDueMs, credentials } = await this.render(app, plan, log));
        progress = await this.converge(app, plan, desired, log);
        progress.volumes = await this.growVolumes(app, plan, desired, log);
        progress.credentials = credentials;
        await this.replaceStuckPods(app, log);
      }
    } catch (err) {
      if (err instanceof UserActionRequired) problem = { reason: err.reason, message: err.message, terminal: true };
      else {
        failure = err;
        problem = { reason: 'ReconcileFailed', message: (err as Error).message, terminal: false };
      }
    }
    await this.writeStatus(app, this.observe(app, plan, desired, problem, progress), log);
    if (failure) throw failure;
    if (problem) return { requeueAfterMs: this.deps.problemRetryMs ?? 30_000 };
    if (progress.recreating) return { requeueAfterMs: 1_000 };
    if (progress.requeueAfterMs !== undefined) return { requeueAfterMs: Math.min(progress.requeueAfterMs, certificatesDueMs ?? Infinity) };
    // Renewals are due long after anything else: a pass then renews them (the apply writes the new certificate).
    if (certificatesDueMs !== undefined) return { requeueAfterMs: certificatesDueMs };
  }

  /**
   * Applies the desired objects make before break (transition.reconcile.ts): what is new or changes in place
   * first; objects marked apply-after=ready once every workload has rolled out; then the traffic switches (Service
   * selectors); after they settle, objects marked apply-after=switched; last the changes that take a role away from
   * old pods, and the prune of what is no longer desired. Each phase waits for the one before it to be done.
   */
  private async converge(app: GraminstaApp, plan: Plan, desired: KubernetesObject[], log: Logger): Promise<Convergence> {
    const namespace = app.metadata.namespace!;
    const uid = app.metadata.uid ?? '';
    const live = (o: KubernetesObject) => this.deps.children(o.kind!).get(o.metadata!.name!, namespace);
    const applicable = desired.filter((o) => !isGeneratedSecret(o));
    const holds = new Map<string, Hold>();
    for (const o of applicable) {
      const hold = holdOf(o, live(o));
      if (hold) holds.set(objectKey(o), hold);
    }
    const phase = (p: ReturnType<typeof applyAfter>) => applicable.filter((o) => !holds.has(objectKey(o)) && applyAfter(o) === p);
    const held = (h: Hold) => applicable.filter((o) => holds.get(objectKey(o)) === h);
    const out: Convergence = { recreating: false, waiting: [] };
    const step = async (objects: KubernetesObject[]): Promise<boolean> => {
      const { pending, applied } = await this.applyAll(app, objects, log);
      out.recreating = pending || out.recreating;
      out.waiting = await this.waitingFor(app, applied, desired, log);
      return out.waiting.length === 0;
    };

    if (!(await step(phase('start')))) return out;
    if (!(await step(phase('ready')))) return out;
    const switches = held('switch');
    const now = this.deps.clock.now();
    if (switches.length > 0) {
      log.info('switching traffic to the new pods', { objects: switches.map(objectKey) });
      await this.applyAll(app, switches, log);
      this.switchedAt.set(uid, now);
      this.deps.events.record(app, 'Normal', 'TrafficSwitched', `${switches.map((o) => `${o.kind} ${o.metadata?.name}`).join(', ')} now select(s) the new pods`);
      return { ...out, waiting: [`traffic is switching to the new pods (${switches.map((o) => o.metadata?.name).join(', ')})`], requeueAfterMs: SWITCH_SETTLE_MS };
    }
    const since = this.switchedAt.get(uid);
    if (since !== undefined && now - since < SWITCH_SETTLE_MS) {
      return { ...out, waiting: ['traffic switched to the new pods; letting endpoints and proxies follow'], requeueAfterMs: SWITCH_SETTLE_MS - (now - since) };
    }
    if (!(await step(phase('switched')))) return out;
    const retiring = held('retire');
    if (retiring.length > 0) log.info('retiring the old pods', { objects: retiring.map(objectKey) });
    await step(retiring);
    const door = this.frontDoorToKeep(app, plan);
    if (door) {
      out.waiting.push(door.waiting);
      if (door.requeueAfterMs !== undefined) out.requeueAfterMs = door.requeueAfterMs;
    }
    await this.prune(app, desired, log, door?.kind);
    if (out.waiting.length === 0) this.switchedAt.delete(uid);
    return out;
  }

  /** Why the objects the apply step handled are not done yet (transition.reconcile.ts notDone), one line each. */
  private async waitingFor(app: GraminstaApp, applied: Applied[], desired: KubernetesObject[], log: Logger): Promise<string[]> {
    const namespace = app.metadata.namespace!;
    const out: string[] = [];
    for (const a of applied) {
      const { obj } = a;
      if ('completed' in a) continue;
      if ('gate' in a) {
        out.push(`${obj.kind} ${obj.metadata?.name} waits for Job ${a.gate}`);
        continue;
      }
      const { want, hash } = a;
      const live = this.deps.children(obj.kind!).get(obj.metadata!.name!, namespace);
      const failed = live && obj.kind === 'Job' ? jobFailure(live as V1Job) : undefined;
      if (failed) {
        // A Job named after its content never runs again by itself: delete it for a new attempt, a few times.
        const key = `${namespace}/${obj.metadata?.name}`;
        const attempt = this.jobAttempts.get(key) ?? 1;
        const why = `${failed.reason ?? 'Failed'}${failed.message ? ` (${failed.message})` : ''}`;
        if (attempt < JOB_ATTEMPTS) {
          log.info('deleting a failed Job for another attempt', { job: key, attempt, reason: failed.reason });
          await this.deps.cluster.delete({ ...live!, apiVersion: 'batch/v1', kind: 'Job' }, 'Background');
          this.jobAttempts.set(key, attempt + 1);
          this.deps.events.record(app, 'Warning', 'JobRetried', `Job ${obj.metadata?.name} failed (${why}); running it again (attempt ${attempt + 1} of ${JOB_ATTEMPTS})`);
          out.push(`Job ${obj.metadata?.name} failed (${why}); attempt ${attempt + 1} of ${JOB_ATTEMPTS} follows`);
          continue;
        }
        const what = obj.metadata?.annotations?.['graminsta.io/image-move'] ? `moving the photos (${obj.metadata.annotations['graminsta.io/image-move']})` : 'its task';
        throw new UserActionRequired(
          'JobFailed',
          `Job ${namespace}/${obj.metadata?.name} failed ${what} ${JOB_ATTEMPTS} times: ${why}; see its pod logs, fix the cause, then delete the Job to run it again`,
        );
      }
      const why = notDone(want, live, hash, APPLIED_HASH_ANNOTATION, minReadyOf(obj, desired));
      if (why) out.push(why);
    }
    return out;
  }

  /** Deletes the app's StatefulSet pods that are stuck on an older template, so the fixed one rolls out. */
  private async replaceStuckPods(app: GraminstaApp, log: Logger): Promise<void> {
    if (!this.deps.pods) return;
    const namespace = app.metadata.namespace!;
    const sets = this.deps.children('StatefulSet').list(namespace).filter((s) => isControlledBy(s, app.metadata.uid)) as V1StatefulSet[];
    for (const pod of stuckPodsToReplace(sets, this.deps.pods.list(namespace))) {
      const issue = podIssues([pod])[0]!;
      log.info('replacing a pod stuck on an older template', { pod: pod.metadata?.name, reason: issue.reason });
      await this.deps.cluster.delete({ ...pod, apiVersion: 'v1', kind: 'Pod' }).catch((err: unknown) => {
        throw new Error(`while deleting Pod ${namespace}/${pod.metadata?.name} (stuck: ${issue.reason})`, { cause: err });
      });
      this.deps.events.record(app, 'Normal', 'StuckPodReplaced', `deleted pod ${pod.metadata?.name} (${issue.reason} on an older template) so that its StatefulSet rolls out the new one`);
    }
  }

  private async render(app: GraminstaApp, plan: Plan, log: Logger): Promise<{ objects: KubernetesObject[]; certificatesDueMs?: number; credentials: Convergence['credentials'] }> {
    const namespace = app.metadata.namespace!;
    // The user's Secrets the pods read go into the config hash, so rotating one rolls the pods.
    // They are not in the operator's caches (those hold only its own, labelled objects), so they are read
    // from the API server; each once per pass, however many fields name it (the database credentials,
    // their CA and the S3 credentials may well be one Secret).
    const reads = new Map<string, Promise<KubernetesObject | undefined>>();
    const readSecret: SecretReader = (name) => {
      let read = reads.get(name);
      if (!read) reads.set(name, (read = this.deps.cluster.read('v1', 'Secret', namespace, name)));
      return read;
    };
    const userSecrets: Record<string, Record<string, string>> = {};
    if (plan.database.placement === 'external') {
      userSecrets[plan.database.secretName] = await this.checkExternalSecret(namespace, plan.database.secretName, plan.database.sslRootCert !== null, readSecret);
      if (plan.database.sslRootCert) await this.checkExternalCa(namespace, plan.database.sslRootCert, readSecret);
    }
    const s3Secret = plan.storage.kind === 's3' ? plan.storage.s3.credentialsSecret : undefined;
    if (s3Secret) {
      const live = await readSecret(s3Secret);
      if (live) userSecrets[s3Secret] = decodeSecret(live);
    }
    const tls = await reconcileDatabaseTls(app, plan, {
      secrets: this.deps.children('Secret'),
      cluster: this.deps.cluster,
      prepare: (obj) => withAppliedHash(withOwner(app, obj)),
      now: this.deps.clock.now(),
      policy: this.deps.certificatePolicy,
    });
    if (tls && 'foreign' in tls) throw new UserActionRequired('AlreadyOwned', alreadyOwnedMessage([tls.foreign]));
    if (tls?.issued.length) {
      log.info('issued database certificates', { reasons: tls.issued });
      this.deps.events.record(app, 'Normal', 'CertificateIssued', tls.issued.join('; '));
    }
    const existingSecrets = { ...userSecrets, ...(await this.ensureGeneratedSecrets(app, plan)), ...tls?.data };
    const served = servedApisOf(this.kinds());
    const objects = renderApp(plan, {
      existingSecrets,
      generatePassword: () => this.deps.generatePassword(),
      monitoringApi: served.has('monitoring'),
      gatewayApi: served.has('gateway'),
    });
    const credentials = await this.checkBackupCredentials(namespace, plan, readSecret);
    const statefulSet = (name: string) => this.deps.children('StatefulSet').get(name, namespace) as V1StatefulSet | undefined;
    const carried = carryRedisMode(objects, plan, redisModeLeft(plan, statefulSet));
    const held = holdRedisShrink(carried, plan.names.redis, redisInitJobName(plan), statefulSet(plan.names.redis));
    return { objects: held, credentials, ...(tls ? { certificatesDueMs: tls.requeueAfterMs } : {}) };
  }

  /** Why the credentials Secret of spec.database.backup or restoreFrom cannot work: missing, or without a key. */
  private async checkBackupCredentials(namespace: string, plan: Plan, readSecret: SecretReader): Promise<{ backup?: string; restore?: string }> {
    const db = plan.database;
    if (db.placement === 'external') return {};
    const check = async (field: string, secret: string | undefined): Promise<string | undefined> => {
      if (!secret) return undefined;
      const live = await readSecret(secret);
      if (!live) return `${field}: Secret ${namespace}/${secret} does not exist; create it with the keys ${BACKUP_CREDENTIAL_KEYS.join(' and ')}`;
      const data = (live as { data?: Record<string, string> }).data ?? {};
      const missing = BACKUP_CREDENTIAL_KEYS.filter((k) => !data[k]);
      return missing.length ? `${field}: Secret ${namespace}/${secret} lacks the key(s) ${missing.join(', ')}` : undefined;
    };
    const out: { backup?: string; restore?: string } = {};
    const backup = await check('spec.database.backup.destination.s3.credentialsSecret', db.backup?.s3.credentialsSecret);
    const restore = await check('spec.database.restoreFrom.s3.credentialsSecret', db.restore?.s3.credentialsSecret);
    if (backup) out.backup = backup;
    if (restore) out.restore = restore;
    return out;
  }

  /** Refuses a spec.database.external.sslRootCert whose Secret, key or content is missing, naming the field. */
  private async checkExternalCa(namespace: string, ca: { secretName: string; key: string }, readSecret: SecretReader): Promise<void> {
    const secret = await readSecret(ca.secretName);
    const field = 'spec.database.external.sslRootCert';
    if (!secret) throw new UserActionRequired('ExternalDatabaseCAInvalid', `${field}: Secret ${namespace}/${ca.secretName} does not exist; create it with the CA certificate(s) (PEM) under the key ${ca.key}`);
    const pem = decodeSecret(secret)[ca.key];
    if (pem === undefined) throw new UserActionRequired('ExternalDatabaseCAInvalid', `${field}: Secret ${namespace}/${ca.secretName} lacks the key ${ca.key}`);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new UserActionRequired('ExternalDatabaseCAInvalid', `${field}: key ${ca.key} of Secret ${namespace}/${ca.secretName} holds no PEM certificate`);
  }

  private async checkExternalSecret(namespace: string, name: string, withCa: boolean, readSecret: SecretReader): Promise<Record<string, string>> {
    const secret = await readSecret(name);
    if (!secret) {
      const optional = Object.values(EXTERNAL_DB_KEYS).filter((k) => !(REQUIRED_EXTERNAL_DB_KEYS as readonly string[]).includes(k));
      throw new UserActionRequired(
        'ExternalDatabaseSecretNotFound',
        `spec.database.external.secretName: Secret ${namespace}/${name} does not exist; create it with the keys ${REQUIRED_EXTERNAL_DB_KEYS.join(', ')} and optionally ${optional.join(', ')}`,
      );
    }
    const data = (secret as { data?: Record<string, string> }).data ?? {};
    const missing = REQUIRED_EXTERNAL_DB_KEYS.filter((k) => !data[k]);
    if (missing.length) {
      throw new UserActionRequired(
        'ExternalDatabaseSecretInvalid',
        `spec.database.external.secretName: Secret ${namespace}/${name} lacks the key(s) ${missing.join(', ')}`,
      );
    }
    const decoded = decodeSecret(secret);
    const sslmode = decoded[EXTERNAL_DB_KEYS.sslmode];
    if (sslmode !== undefined && sslmode !== '' && !(SSL_MODES as readonly string[]).includes(sslmode)) {
      throw new UserActionRequired('ExternalDatabaseSecretInvalid', `spec.database.external.secretName: Secret ${namespace}/${name}: sslmode must be one of ${SSL_MODES.join(', ')}, got ${JSON.stringify(sslmode)}`);
    }
    if (withCa && (sslmode === 'disable' || sslmode === 'require')) {
      throw new UserActionRequired('ExternalDatabaseSecretInvalid', `spec.database.external.sslRootCert is set but Secret ${namespace}/${name} has sslmode ${sslmode}, which does not verify the server: use verify-full or verify-ca, or remove the key`);
    }
    return decoded;
  }

  /**
   * Creates the generated Secrets that do not exist yet and returns the data of all of them. A Secret
   * missing from the cache is created with create (never apply), which fails when it exists after all;
   * then it is read from the API server. So a stale cache never replaces a password.
   */
  private async ensureGeneratedSecrets(app: GraminstaApp, plan: Plan): Promise<Record<string, Record<string, string>>> {
    const namespace = app.metadata.namespace!;
    const secrets = this.deps.children('Secret');
    // What the cache already holds; passwords are generated only for Secrets it does not.
    const cached: Record<string, Record<string, string>> = {};
    for (const { name } of plan.generatedSecrets) {
      const live = secrets.get(name, namespace);
      if (live) cached[name] = decodeSecret(live);
    }
    const wanted = renderGeneratedSecrets({
      ...plan,
      secrets: generatedSecretData(plan, { existingSecrets: cached, generatePassword: () => this.deps.generatePassword() }),
    });
    const generated: string[] = [];
    const entries = await Promise.all(
      wanted.map(async (secret) => {
        const name = secret.metadata!.name!;
        if (cached[name]) return [name, cached[name]] as const;
        let live: KubernetesObject | undefined;
        try {
          live = await this.deps.cluster.create(withOwner(app, secret));
          generated.push(name);
        } catch (err) {
          if (!isAlreadyExists(err)) throw new Error(`while creating Secret ${namespace}/${name}: ${messageOf(err)}`, { cause: err });
          live = await this.deps.cluster.read('v1', 'Secret', namespace, name);
        }
        const foreign = live && notOursReason({ ...live, kind: 'Secret' }, app.metadata.uid);
        if (foreign) throw new UserActionRequired('AlreadyOwned', alreadyOwnedMessage([foreign]));
        return [name, decodeSecret(live)] as const;
      }),
    );
    if (generated.length) this.deps.events.record(app, 'Normal', 'SecretsGenerated', `generated Secret(s) ${generated.sort().join(', ')}`);
    return Object.fromEntries(entries);
  }

  /**
   * Applies what differs. Resolves with pending (something is still being re-created and needs another pass) and,
   * in the order given, what became of each object: the Job it waits for, or the object as applied with its hash.
   */
  private async applyAll(app: GraminstaApp, desired: KubernetesObject[], log: Logger): Promise<{ pending: boolean; applied: Applied[] }> {
    const namespace = app.metadata.namespace!;
    const jobs = this.deps.children('Job');
    let pending = false;
    const notOurs: string[] = [];
    const applicable = desired.filter((o) => !isGeneratedSecret(o));
    const outcome = new Map<KubernetesObject, Applied>();
    const completed = this.recordedJobs(app);
    for (const wave of applyWaves(applicable)) {
      await Promise.all(
        wave.map(async (obj) => {
          // A comma-separated list of Jobs: the first that has not succeeded holds the object back.
          const gate = obj.metadata?.annotations?.[AFTER_JOB_ANNOTATION]
            ?.split(',')
            .find((job) => !completed.has(job) && !jobSucceeded(jobs.get(job, namespace) as V1Job | undefined));
          if (gate) {
            log.debug('waiting for a Job before applying', { object: objectKey(obj), job: gate });
            outcome.set(obj, { obj, gate });
            return;
          }
          if (obj.kind === 'Job' && completed.has(obj.metadata!.name!) && !jobs.get(obj.metadata!.name!, namespace)) {
            outcome.set(obj, { obj, completed: true });
            return;
          }
          const want = withAppliedHash(withOwner(app, obj));
          outcome.set(obj, { obj, want, hash: want.metadata!.annotations![APPLIED_HASH_ANNOTATION]! });
          const live = this.deps.children(obj.kind!).get(obj.metadata!.name!, namespace);
          // The caches hold only labelled objects: before creating, look for one under the same name.
          const existing = live ?? (await this.deps.cluster.read(obj.apiVersion!, obj.kind!, namespace, obj.metadata!.name!));
          const foreign = existing && notOursReason({ ...existing, kind: obj.kind }, app.metadata.uid);
          if (foreign) {
            notOurs.push(foreign);
            return;
          }
          if (live?.metadata?.deletionTimestamp) {
            pending = true; // being re-created: its delete event brings the app back here
            return;
          }
          if (live && upToDate(want, live)) return;
          const immutable = live ? immutableChange(want, live) : null;
          if (live && immutable) {
            // The API server refuses to change this field in place: delete the object and create it anew
            // on the next pass. A workload's pods and volumes are kept (orphan) and adopted by the new one;
            // a Job's pods ran the old template and go with it (background), else they would leak.
            log.info('re-creating to change an immutable field', { object: objectKey(obj), field: immutable });
            const isJob = obj.kind === 'Job';
            await this.deps.cluster.delete({ ...live, apiVersion: obj.apiVersion, kind: obj.kind }, isJob ? 'Background' : 'Orphan');
            const volumes = immutable === 'spec.volumeClaimTemplates' ? ' (existing PersistentVolumeClaims are expanded where their StorageClass allows it)' : '';
            const kept = isJob ? 'its pods are deleted with it' : `its pods and volumes are kept${volumes}`;
            this.deps.events.record(app, 'Normal', 'Recreating', `re-creating ${obj.kind} ${obj.metadata?.name} to change ${immutable}; ${kept}`);
            pending = true;
            return;
          }
          log.info(live ? 'updating' : 'creating', { object: objectKey(obj), difference: live ? firstDifference(want, live) : undefined });
          try {
            // An apply without spec.replicas would reset the field to 1 while the operator owns it: hand it to an
            // HPA-side manager first, so the Deployment keeps its pods until the HPA takes over (no dip).
            if (live && obj.kind === 'Deployment' && (want as V1Deployment).spec?.replicas === undefined && (live as V1Deployment).spec?.replicas !== undefined) {
              await this.deps.cluster.handOverReplicas(want);
            }
            await this.deps.cluster.apply(want);
          } catch (err) {
            throw new Error(`while applying ${obj.kind} ${namespace}/${obj.metadata?.name}: ${messageOf(err)}`, { cause: err });
          }
        }),
      );
    }
    if (notOurs.length) throw new UserActionRequired('AlreadyOwned', alreadyOwnedMessage(notOurs));
    return { pending, applied: applicable.map((o) => outcome.get(o)!) };
  }

  /**
   * Brings every existing claim of the desired StatefulSets to its template's size. The template itself stays
   * as rendered: a changed volumeClaimTemplates is an immutable change, so applyAll deletes the StatefulSet with
   * orphan propagation and creates it anew (pods and claims stay and are adopted) instead of an apply the API
   * server refuses forever. The new StatefulSet's template only sizes claims it creates from now on; the ones
   * that exist are patched here where their StorageClass allows expansion, and reported where not.
   */
  private async growVolumes(app: GraminstaApp, plan: Plan, desired: KubernetesObject[], log: Logger): Promise<VolumeNote[]> {
    const namespace = app.metadata.namespace!;
    const names = plan.names;
    const tierOf = (sts: string): VolumeNote['tier'] =>
      sts === names.database && plan.database.placement !== 'embedded'
        ? 'DatabaseReady'
        : sts === names.databaseReplica
          ? 'DatabaseReady'
          : sts === names.redis
            ? 'CacheReady'
            : 'ApiReady';
    const classes = new Map<string, boolean | undefined>();
    const allows = async (cls: string | undefined): Promise<boolean | undefined> => {
      if (!cls) return undefined;
      if (!classes.has(cls)) {
        const sc = (await this.deps.cluster.read('storage.k8s.io/v1', 'StorageClass', '', cls)) as { allowVolumeExpansion?: boolean } | undefined;
        classes.set(cls, sc ? sc.allowVolumeExpansion === true : undefined);
      }
      return classes.get(cls);
    };
    const notes: VolumeNote[] = [];
    for (const sts of desired.filter((o): o is V1StatefulSet => o.kind === 'StatefulSet')) {
      const stsName = sts.metadata!.name!;
      for (let ordinal = 0; ordinal < (sts.spec?.replicas ?? 1); ordinal++) {
        for (const template of sts.spec?.volumeClaimTemplates ?? []) {
          const size = template.spec?.resources?.requests?.storage;
          if (!size) continue;
          const name = `${template.metadata!.name}-${stsName}-${ordinal}`;
          // From the cache: a read per claim per pass would be requests at rest.
          const pvc = this.deps.claims.get(name, namespace);
          if (!pvc || pvc.metadata?.deletionTimestamp) continue;
          const storageClassName = pvc.spec?.storageClassName;
          const claim = {
            name,
            storageClassName,
            requested: pvc.spec?.resources?.requests?.storage,
            capacity: pvc.status?.capacity?.storage,
            conditions: (pvc.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type),
          };
          // The StorageClass is read only for a claim that would grow.
          const asIf = decideVolume(size, claim, true);
          const decision = asIf.action === 'expand' ? decideVolume(size, claim, await allows(storageClassName)) : asIf;
          if (decision.action === 'expand') {
            log.info('expanding a volume', { claim: name, from: claim.requested, to: decision.to });
            await this.deps.cluster.expandClaim(namespace, name, decision.to);
            this.deps.events.record(app, 'Normal', 'VolumeExpanding', `PersistentVolumeClaim ${name}: ${claim.requested} -> ${decision.to}`);
            notes.push({ tier: tierOf(stsName), reason: 'VolumeResizing', message: `PersistentVolumeClaim ${name} is resizing to ${decision.to}` });
          } else if (decision.action === 'resizing') {
            notes.push({ tier: tierOf(stsName), reason: 'VolumeResizing', message: decision.message });
          } else if (decision.action === 'report') {
            // Once: the tier condition carries the message from the first pass on, and an Event every pass would be a write at rest.
            const said = (app.status?.conditions ?? []).some((c) => c.type === tierOf(stsName) && (c.message ?? '').includes(decision.message));
            if (!said) this.deps.events.record(app, 'Warning', decision.reason, decision.message);
            notes.push({ tier: tierOf(stsName), reason: decision.reason, message: decision.message });
          }
        }
      }
    }
    return notes;
  }

  /** The old front door kept out of the prune while the new one cannot take traffic (transition.reconcile.ts). */
  private frontDoorToKeep(app: GraminstaApp, plan: Plan): ReturnType<typeof frontDoorToKeep> {
    const to = this.observeIngress(plan);
    const door = frontDoorToKeep(to, ingressState(to, '').status === 'True', this.deps.clock.now());
    if (!door) return null;
    const namespace = plan.names.namespace;
    const old = this.kinds().some((k) => k.kind === door.kind) && this.deps.children(door.kind).list(namespace).some((o) => isControlledBy(o, app.metadata.uid));
    return old ? door : null;
  }

  /** Deletes the children this app controls that are no longer desired; those of kind `keepKind` stay this pass. */
  private async prune(app: GraminstaApp, desired: KubernetesObject[], log: Logger, keepKind?: string): Promise<void> {
    const namespace = app.metadata.namespace!;
    const keep = new Set(desired.map(objectKey));
    const stale: KubernetesObject[] = [];
    for (const kind of this.kinds()) {
      if (kind.kind === keepKind) continue;
      for (const obj of this.deps.children(kind.kind).list(namespace)) {
        if (isControlledBy(obj, app.metadata.uid) && !keep.has(objectKey({ ...obj, kind: kind.kind }))) {
          stale.push({ ...obj, apiVersion: kind.apiVersion, kind: kind.kind });
        }
      }
    }
    await Promise.all(
      stale.map(async (obj) => {
        log.info('pruning', { object: objectKey(obj) });
        try {
          await this.deps.cluster.delete(obj);
        } catch (err) {
          if (isNotFound(err)) return;
          throw new Error(`while pruning ${obj.kind} ${namespace}/${obj.metadata?.name}: ${messageOf(err)}`, { cause: err });
        }
      }),
    );
  }

  private observe(app: GraminstaApp, plan: Plan | undefined, desired: KubernetesObject[], problem?: Problem, progress?: Convergence): Observation {
    const namespace = app.metadata.namespace!;
    const get = <T extends KubernetesObject>(kind: string, name: string) => this.deps.children(kind).get(name, namespace) as T | undefined;
    const names = plan?.names ?? appNames(app);
    const recorded = this.recordedJobs(app);
    // A desired Job not in the cache yet counts as running, so the status waits for it; unless it succeeded
    // before and was deleted since (its TTL).
    const desiredJob = (prefix: string): V1Job | undefined => {
      const job = desired.find((o) => o.kind === 'Job' && o.metadata?.name?.startsWith(prefix));
      if (!job) return undefined;
      const name = job.metadata!.name!;
      return get<V1Job>('Job', name) ?? { metadata: { name }, status: recorded.has(name) ? { succeeded: 1 } : {} };
    };
    // Without a render (paused, or a pass that failed before it) what was recorded stays.
    const rendered = !!plan && desired.length > 0;
    const completedJobs = rendered ? completedJobsOf(desired, (name) => get<V1Job>('Job', name), recorded) : [...recorded].sort();
    const diagram = rendered ? diagramOf(plan, desired) : (app.status?.diagram ?? '');
    const stage = plan?.stage ?? app.status?.stage ?? 'single-machine';
    // An unrealisable spec has no endpoints.
    const endpoints = plan?.endpoints ?? { api: '', web: '', cdn: '' };
    const placement = plan?.database.placement ?? 'in-cluster';
    const readReplicas = plan?.database.placement === 'in-cluster' ? plan.database.readReplicas : 0;
    const embedded = placement === 'embedded';
    const selector = Object.entries(selectorLabels(names, embedded ? 'database' : 'api'))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return {
      generation: app.metadata.generation ?? 0,
      stage,
      apiWorkload: embedded ? get<V1StatefulSet>('StatefulSet', names.database) : get<V1Deployment>('Deployment', names.api),
      apiAutoscaler: plan?.api.autoscaling ? get<V2HorizontalPodAutoscaler>('HorizontalPodAutoscaler', names.api) : undefined,
      apiDesiredReplicas: plan?.api.replicas ?? 1,
      webEnabled: !!plan?.web,
      webDeployment: plan?.web ? get<V1Deployment>('Deployment', names.web) : undefined,
      webDesiredReplicas: plan?.web?.replicas ?? 0,
      webAutoscaler: plan?.web?.autoscaling ? get<V2HorizontalPodAutoscaler>('HorizontalPodAutoscaler', names.web) : undefined,
      database: {
        placement,
        primary: get<V1StatefulSet>('StatefulSet', names.database),
        replicas: readReplicas > 0 ? get<V1StatefulSet>('StatefulSet', names.databaseReplica) : undefined,
        desiredReplicas: readReplicas,
      },
      cache: {
        enabled: !!plan?.cache,
        nodes: plan?.cache ? [get<V1StatefulSet>('StatefulSet', redisStatefulSetName(names, plan.cache.mode))].filter((s): s is V1StatefulSet => !!s) : undefined,
        desiredNodes: plan?.cache?.nodeCount ?? 0,
        // The Job the cache waits for: the form Job, then the copy Job of a change of mode (which runs after it).
        ...cacheJob(desiredJob(names.redisInitPrefix), desiredJob(names.redisCopyPrefix)),
        ...(plan?.cache ? { shape: { shards: plan.cache.shards, replicasPerShard: plan.cache.mode === 'cluster' ? plan.cache.replicasPerShard : 0 } } : {}),
        formed: { shards: this.currentStatus(app)?.cache?.shards ?? 0, replicasPerShard: this.currentStatus(app)?.cache?.replicasPerShard ?? 0 },
      },
      migrateJob: desiredJob(names.migratePrefix),
      ingress: plan ? this.observeIngress(plan) : undefined,
      podIssues: podIssues((this.deps.pods?.list(namespace) ?? []).filter((p) => p.metadata?.labels?.['app.kubernetes.io/instance'] === names.app)),
      endpoints,
      selector,
      error: problem,
      waiting: progress?.waiting ?? [],
      volumes: progress?.volumes ?? [],
      imageStore: imageStoreNow(app, plan, !problem && !!progress && progress.waiting.length === 0),
      completedJobs,
      diagram,
      ...this.observeBackups(namespace, plan, progress),
      paused: plan?.paused ?? !!app.spec?.paused,
    };
  }

  /** The backup CronJob with its Jobs and pods, and the primary's pod for a restore, when the spec asks for them. */
  private observeBackups(namespace: string, plan: Plan | undefined, progress: Convergence | undefined): Pick<Observation, 'backup' | 'restore'> {
    if (!plan || plan.database.placement === 'external') return {};
    const { names } = plan;
    const out: Pick<Observation, 'backup' | 'restore'> = {};
    const pods = this.deps.pods?.list(namespace) ?? [];
    if (plan.database.backup) {
      const ours = (o: KubernetesObject) => o.metadata?.labels?.['app.kubernetes.io/instance'] === names.app && o.metadata?.labels?.['app.kubernetes.io/component'] === 'backup';
      out.backup = {
        cronJob: this.deps.children('CronJob').get(names.backup, namespace) as V1CronJob | undefined,
        jobs: (this.deps.children('Job').list(namespace) as V1Job[]).filter(ours),
        pods: pods.filter(ours),
        ...(progress?.credentials?.backup ? { credentialsProblem: progress.credentials.backup } : {}),
      };
    }
    if (plan.database.restore) {
      out.restore = {
        pod: pods.find((p) => p.metadata?.name === `${names.database}-0`),
        ...(progress?.credentials?.restore ? { credentialsProblem: progress.credentials.restore } : {}),
      };
    }
    return out;
  }

  /** The app's Ingress or HTTPRoutes as the caches hold them (those the plan wants: pruned leftovers do not count). */
  private observeIngress(plan: Plan): IngressObservation {
    const namespace = plan.names.namespace;
    const parent = gatewayParentRef(plan);
    if (!plan.ingress) return { kind: 'none' };
    if (!parent) return { kind: 'Ingress', name: plan.names.ingress, live: this.deps.children('Ingress').get(plan.names.ingress, namespace) as V1Ingress | undefined };
    const served = servedApisOf(this.kinds()).has('gateway');
    const routes = httpRouteNames(plan);
    return {
      kind: 'HTTPRoute',
      parent,
      served,
      routes: routes.map((name) => ({ name, live: served ? (this.deps.children('HTTPRoute').get(name, namespace) as ObservedRoute | undefined) : undefined })),
    };
  }

  /** The status the app has now: the one this process last wrote while the cache has not caught up, else the cached one. */
  private currentStatus(app: GraminstaApp): Partial<AppStatus> | undefined {
    const uid = app.metadata.uid ?? '';
    const mine = this.written.get(uid);
    if (mine && mine.from !== app.metadata.resourceVersion) this.written.delete(uid);
    return mine && mine.from === app.metadata.resourceVersion ? mine.status : (app.status as Partial<AppStatus> | undefined);
  }

  /** The Jobs the status records as succeeded (status.completedJobs). */
  private recordedJobs(app: GraminstaApp): Set<string> {
    return new Set(this.currentStatus(app)?.completedJobs ?? []);
  }

  private async writeStatus(app: GraminstaApp, observation: Observation, log: Logger): Promise<void> {
    const uid = app.metadata.uid ?? '';
    const previous = this.currentStatus(app);
    const now = new Date(this.deps.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const status = computeStatus(observation, previous, now);
    if (!statusChanged(pick(previous), status)) return;
    await this.deps.cluster.patchStatus(app, status).catch((err: unknown) => {
      throw new Error(`while writing the status of GraminstaApp ${app.metadata.namespace}/${app.metadata.name}: ${messageOf(err)}`, { cause: err });
    });
    this.written.set(uid, { from: app.metadata.resourceVersion, status });
    this.recordTransitions(app, previous, status);
    log.info('status updated', { stage: status.stage, ready: status.conditions.find((c) => c.type === 'Ready')?.status });
  }

  private recordTransitions(app: GraminstaApp, previous: Partial<AppStatus> | undefined, next: AppStatus): void {
    // The first stage is announced by the Ready events; a change of stage gets its own.
    if (previous?.stage && previous.stage !== next.stage) {
      this.deps.events.record(app, 'Normal', 'StageChanged', `stage is now ${next.stage} (was ${previous.stage})`);
    }
    for (const type of ['Ready', 'Stalled']) {
      const before = previous?.conditions?.find((c) => c.type === type);
      const after = next.conditions.find((c) => c.type === type)!;
      if (before?.status === after.status && before.reason === after.reason) continue;
      if (type === 'Stalled' && after.status !== 'True' && !before) continue;
      const warning = (type === 'Stalled' && after.status === 'True') || (type === 'Ready' && after.status === 'False' && before?.status === 'True');
      this.deps.events.record(app, warning ? 'Warning' : 'Normal', after.reason, after.message);
    }
  }
}

/** Where the photos are after this pass: the plan's store once no move is pending or the move has completed. */
function imageStoreNow(app: GraminstaApp, plan: Plan | undefined, converged: boolean): ImageStoreStatus | undefined {
  if (!plan || plan.paused) return app.status?.imageStore;
  if (!plan.imageMove || converged) return plan.imageStore;
  return plan.imageMove.from;
}

/** Keeps only the status fields the operator writes, so fields it does not own never force a write. */
function pick(status: Partial<AppStatus> | undefined): Partial<AppStatus> | undefined {
  if (!status) return undefined;
  const { observedGeneration, stage, conditions, api, web, database, cache, endpoints, imageStore, completedJobs, diagram, replicas, selector } = status;
  return { observedGeneration, stage, conditions, api, web, database, cache, endpoints, imageStore, completedJobs, diagram, replicas, selector };
}

function upToDate(want: KubernetesObject, live: KubernetesObject): boolean {
  return (
    live.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] === want.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] &&
    firstDifference(want, live) === null
  );
}

function withOwner<T extends KubernetesObject>(app: GraminstaApp, obj: T): T {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      ownerReferences: [
        { apiVersion: app.apiVersion, kind: app.kind, name: app.metadata.name!, uid: app.metadata.uid!, controller: true, blockOwnerDeletion: true },
      ],
    },
  };
}

function withAppliedHash<T extends KubernetesObject>(obj: T): T {
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [APPLIED_HASH_ANNOTATION]: hashOf(obj) } } };
}

/** The pods a desired workload must have ready to count as rolled out: its HPA's minimum when one scales it. */
function minReadyOf(obj: KubernetesObject, desired: KubernetesObject[]): number | undefined {
  if (obj.kind !== 'Deployment' || (obj as V1Deployment).spec?.replicas !== undefined) return undefined;
  const hpa = desired.find(
    (o) => o.kind === 'HorizontalPodAutoscaler' && (o as V2HorizontalPodAutoscaler).spec?.scaleTargetRef?.name === obj.metadata?.name,
  ) as V2HorizontalPodAutoscaler | undefined;
  return hpa?.spec?.minReplicas ?? 1;
}

/** Longest status.diagram the CRD admits. */
const MAX_DIAGRAM_LENGTH = 32768;

/** The Mermaid text of the topology of the desired objects, or a pointer to the CLI should it ever be too long for the status. */
function diagramOf(plan: Plan, desired: KubernetesObject[]): string {
  const text = toMermaid(topologyOf(plan, desired as RenderedObject[]));
  if (text.length <= MAX_DIAGRAM_LENGTH) return text;
  return `too large for the status; run: kubectl get graminstaapp -n ${plan.names.namespace} ${plan.names.app} -o yaml | graminsta diagram -f -`;
}

/** The Job the cache waits for: the form Job until it succeeded, then the copy Job of a change of mode (it runs after it). */
function cacheJob(form: V1Job | undefined, copy: V1Job | undefined): { formJob?: V1Job; copying?: boolean } {
  if (copy && (!form || jobSucceeded(form)) && !jobSucceeded(copy)) return { formJob: copy, copying: true };
  return form ? { formJob: form } : {};
}

function jobSucceeded(job: V1Job | undefined): boolean {
  return (job?.status?.succeeded ?? 0) > 0;
}

/** Fields that cannot change in place, by kind: a change to one means deleting and re-creating the object. */
const immutableFields: Record<string, string[]> = {
  StatefulSet: ['selector', 'serviceName', 'podManagementPolicy', 'volumeClaimTemplates'],
  Deployment: ['selector'],
  Job: ['selector', 'template'],
};

/** The first immutable spec field whose wanted value the live object does not have, or null. */
export function immutableChange(want: KubernetesObject, live: KubernetesObject): string | null {
  const wantSpec = (want as { spec?: Record<string, unknown> }).spec ?? {};
  const liveSpec = (live as { spec?: Record<string, unknown> }).spec ?? {};
  for (const field of immutableFields[want.kind ?? ''] ?? []) {
    if (wantSpec[field] !== undefined && firstDifference(wantSpec[field], liveSpec[field]) !== null) return `spec.${field}`;
  }
  return null;
}
