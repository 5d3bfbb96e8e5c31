// Wires the GraminstaApp controller: informers on the apps and every owned kind, a work queue fed by
// their events, workers running the reconciler while this process leads, and the cluster API behind it.
import { randomBytes } from 'node:crypto';
import { PatchStrategy, setHeaderOptions, type KubernetesListObject, type KubernetesObject, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';
import type { ImageSettings } from './api/images.api.js';
import type { GraminstaApp } from './api/types.gen.js';
import { applyObject, deleteObject, withRequestSignal, type KubeClients } from './kube/client.kube.js';
import { realClock, type Clock, type TimerHandle } from './kube/clock.kube.js';
import { isNotFound } from './kube/errors.kube.js';
import { createInformer, type SupervisedInformer } from './kube/informer.kube.js';
import { packFields } from './kube/packed-fields.kube.js';
import { StringPool } from './kube/string-pool.kube.js';
import type { Logger } from './kube/logger.kube.js';
import type { Metrics } from './kube/metrics.kube.js';
import { WorkerPool } from './kube/worker-pool.kube.js';
import { CLAIM_SELECTOR, MANAGED_BY } from './render/names.render.js';
import { AppReconciler, type ClusterClient } from './reconcile/app.reconcile.js';
import { optionalApis, ownerKey, watchedKinds, type ChildKind, type OptionalApi, type OptionalApiName } from './reconcile/children.reconcile.js';
import { servesAll } from './kube/discovery.kube.js';
import { createEventRecorder } from './reconcile/events.reconcile.js';
import { slimClaim } from './reconcile/volumes.reconcile.js';

/** The API group, version and plural of GraminstaApp. */
export const APP_RESOURCE = { group: 'graminsta.io', version: 'v1alpha1', plural: 'graminstaapps' } as const;

/** The field manager of every server-side apply the operator makes. */
export const FIELD_MANAGER = MANAGED_BY;
/** The field manager that holds a Deployment's spec.replicas between the operator letting go and its HPA's first scale. */
export const HANDOVER_FIELD_MANAGER = 'graminsta-handover-to-hpa';

/** True when `manager` owns spec.replicas of obj through an apply (from its managedFields). */
export function ownsReplicas(obj: KubernetesObject, manager: string): boolean {
  return (obj.metadata?.managedFields ?? []).some((f) => {
    const spec = (f.fieldsV1 as { 'f:spec'?: Record<string, unknown> } | undefined)?.['f:spec'];
    return f.manager === manager && f.operation === 'Apply' && !!spec && 'f:replicas' in spec;
  });
}

/** Options of the controller. */
export interface ControllerOptions {
  clients: KubeClients;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** Empty: all namespaces. */
  watchNamespace: string;
  workers: number;
  resyncMs: number;
  /** Images of apps whose spec names none. */
  images: ImageSettings;
  /** Identity in Events (the pod name). */
  identity: string;
  /** A reconcile's deadline: its API requests are aborted this long after it started. */
  reconcileTimeoutMs: number;
  /** The optional APIs the cluster serves (discoverOptionalApis, when the operator starts): their kinds are watched, applied and pruned. */
  servedApis?: Iterable<OptionalApiName>;
  /** How often to look again for the optional APIs not served yet (rediscover), so CRDs installed later are picked up; 0 or omitted: never. */
  discoveryIntervalMs?: number;
}

/** The optional APIs (of `apis`) the cluster serves every kind of. */
export async function discoverOptionalApis(clients: KubeClients, apis: readonly OptionalApi[] = optionalApis): Promise<Set<OptionalApiName>> {
  const served = await Promise.all(apis.map((a) => servesAll(clients, a.group, a.version, a.kinds.map((k) => k.kind))));
  return new Set(apis.filter((_, i) => served[i]).map((a) => a.name));
}

function watchPath(group: string, apiVersion: string, plural: string, namespace: string): string {
  const base = group === '' ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
  return namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
}

/** The label selector of every watched child: the operator's objects only. */
const CHILD_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;

/** The fields of cached children kept deflated when large: only reconciles read them, one app at a time. */
const PACKED_FIELDS = ['spec'] as const;

/** Pods are watched, never written: not a child kind (nothing applies or prunes them). */
const POD_KIND: ChildKind = { kind: 'Pod', apiVersion: 'v1', group: '', plural: 'pods', order: 0 };
/** Claims are watched and expanded, never applied or pruned (the StatefulSet controller creates them): not a child kind either. */
const CLAIM_KIND: ChildKind = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', group: '', plural: 'persistentvolumeclaims', order: 0 };

/** The GraminstaApp controller. Informers run from start(); the reconcile workers only between lead() and unlead(). */
export class Controller {
  readonly apps: SupervisedInformer<GraminstaApp>;
  readonly children = new Map<string, SupervisedInformer<KubernetesObject>>();
  /** The pods of the operator's workloads: read only, for the containers that cannot start (status). */
  readonly pods: SupervisedInformer<V1Pod>;
  /** The claims of the operator's StatefulSets, for growing volumes with the spec without a read per claim per pass. */
  readonly claims: SupervisedInformer<V1PersistentVolumeClaim>;
  readonly reconciler: AppReconciler;
  private readonly pool: WorkerPool;
  private readonly clock: Clock;
  /** The kinds watched so far; rediscover adds those of optional APIs found later (the reconciler reads it on every pass). */
  private readonly kinds: ChildKind[];
  private readonly served: Set<OptionalApiName>;
  private readonly logger: Logger;
  /** The long strings the child caches share, one copy each. */
  private readonly strings = new StringPool();
  private discoveryTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly opts: ControllerOptions) {
    const { clients, watchNamespace: ns, logger, resyncMs } = opts;
    this.clock = opts.clock ?? realClock;
    const informerLogger = logger.child({ component: 'informer' });
    this.apps = createInformer<GraminstaApp>(clients, {
      path: watchPath(APP_RESOURCE.group, `${APP_RESOURCE.group}/${APP_RESOURCE.version}`, APP_RESOURCE.plural, ns),
      listFn: () =>
        (ns
          ? clients.customObjects.listNamespacedCustomObject({ ...APP_RESOURCE, namespace: ns })
          : clients.customObjects.listClusterCustomObject({ ...APP_RESOURCE })) as Promise<KubernetesListObject<GraminstaApp>>,
      resyncMs,
      clock: this.clock,
      logger: informerLogger.child({ kind: 'GraminstaApp' }),
    });
    this.logger = logger;
    this.served = new Set(opts.servedApis ?? []);
    this.kinds = [...watchedKinds(this.served)];
    for (const kind of this.kinds) this.watchChild(kind);
    this.pods = this.childInformer(POD_KIND, CHILD_SELECTOR, informerLogger) as SupervisedInformer<V1Pod>;
    this.claims = this.childInformer(CLAIM_KIND, CLAIM_SELECTOR, informerLogger, slimClaim as (o: KubernetesObject) => KubernetesObject) as SupervisedInformer<V1PersistentVolumeClaim>;

    const cluster = clusterClient(clients, logger);
    this.reconciler = new AppReconciler({
      apps: this.apps,
      pods: this.pods,
      claims: this.claims,
      children: (kind) => {
        const informer = this.children.get(kind);
        if (!informer) throw new Error(`no informer for kind ${kind}`);
        return informer;
      },
      kinds: () => this.kinds,
      cluster,
      events: createEventRecorder(clients.core, { component: 'graminsta-operator', instance: opts.identity, clock: this.clock, logger }),
      logger: logger.child({ controller: 'graminstaapp' }),
      clock: this.clock,
      images: opts.images,
      generatePassword: () => randomBytes(24).toString('base64url'),
    });

    this.pool = new WorkerPool({
      name: 'graminstaapp',
      controller: 'graminstaapp',
      workers: opts.workers,
      // Every API request of a reconcile carries its signal: aborted at the deadline and when leadership ends.
      reconcile: (key, signal) => withRequestSignal(signal, () => this.reconciler.reconcile(key)),
      reconcileTimeoutMs: opts.reconcileTimeoutMs,
      initialKeys: () => this.apps.list().map((app) => `${app.metadata.namespace}/${app.metadata.name}`),
      logger: opts.logger,
      clock: this.clock,
      metrics: opts.metrics,
    });

    const enqueueApp = (app: GraminstaApp) => this.enqueue(`${app.metadata.namespace}/${app.metadata.name}`);
    for (const event of ['add', 'update', 'delete'] as const) {
      this.apps.on(event, enqueueApp);
      // Pods are owned by ReplicaSets and StatefulSets, claims by no one: their instance label names the app.
      const enqueueInstance = (obj: KubernetesObject) => {
        const app = obj.metadata?.labels?.['app.kubernetes.io/instance'];
        if (app && obj.metadata?.namespace) this.enqueue(`${obj.metadata.namespace}/${app}`);
      };
      this.pods.on(event, enqueueInstance);
      this.claims.on(event, enqueueInstance);
    }
  }

  /** Creates the informer of a child kind, whose events queue the owning app. */
  private watchChild(kind: ChildKind): SupervisedInformer<KubernetesObject> {
    const informer = this.childInformer(kind, CHILD_SELECTOR, this.logger.child({ component: 'informer' }));
    this.children.set(kind.kind, informer);
    for (const event of ['add', 'update', 'delete'] as const) {
      informer.on(event, (obj) => {
        const key = ownerKey(obj);
        if (key) this.enqueue(key);
      });
    }
    return informer;
  }

  /**
   * Looks for the optional APIs the cluster did not serve so far; for each one it now serves, starts watching its
   * kinds (synced before the reconciler sees them, so nothing is applied or pruned from an empty cache) and queues
   * every app again. Resolves with the names found; makes no request once every optional API is served.
   */
  async rediscover(): Promise<OptionalApiName[]> {
    const missing = optionalApis.filter((a) => !this.served.has(a.name));
    if (missing.length === 0) return [];
    const found = await discoverOptionalApis(this.opts.clients, missing);
    const added = missing.filter((a) => found.has(a.name));
    for (const api of added) {
      await Promise.all(api.kinds.map((k) => this.watchChild(k).start()));
      this.kinds.push(...api.kinds);
      this.served.add(api.name);
      this.logger.info('an optional API is served now: watching its kinds', { api: `${api.group}/${api.version}`, kinds: api.kinds.map((k) => k.kind) });
    }
    if (added.length > 0) for (const app of this.apps.list()) this.enqueue(`${app.metadata.namespace}/${app.metadata.name}`);
    return added.map((a) => a.name);
  }

  private scheduleDiscovery(): void {
    const every = this.opts.discoveryIntervalMs ?? 0;
    if (every <= 0 || this.stopped || this.served.size === optionalApis.length) return;
    this.discoveryTimer = this.clock.setTimeout(() => {
      this.rediscover()
        .catch((err: unknown) => this.logger.warn('discovery of the optional APIs failed; trying again later', { error: String((err as Error)?.message ?? err) }))
        .finally(() => this.scheduleDiscovery());
    }, every);
  }

  private childInformer(kind: ChildKind, labelSelector: string, logger: Logger, slim?: (obj: KubernetesObject) => KubernetesObject): SupervisedInformer<KubernetesObject> {
    const { clients, watchNamespace: ns } = this.opts;
    const pool = this.strings;
    return createInformer<KubernetesObject>(clients, {
      path: watchPath(kind.group, kind.apiVersion, kind.plural, ns),
      labelSelector,
      listFn: () =>
        clients.objects.list(kind.apiVersion, kind.kind, ns || undefined, undefined, undefined, undefined, undefined, labelSelector),
      resyncMs: 0,
      clock: this.clock,
      logger: logger.child({ kind: kind.kind }),
      // One copy of the long texts the apps' children share (string-pool.kube.ts), then large specs (a
      // StatefulSet's pod template) deflated until a reconcile reads them (packed-fields.kube.ts).
      slim: (obj) => packFields(pool.intern(slim ? slim(obj) : obj), PACKED_FIELDS),
    });
  }

  /** Starts every informer and resolves once all have synced. */
  async start(): Promise<void> {
    await Promise.all([this.apps.start(), this.pods.start(), this.claims.start(), ...[...this.children.values()].map((i) => i.start())]);
    this.scheduleDiscovery();
  }

  /** The optional APIs watched now. */
  servedApis(): OptionalApiName[] {
    return optionalApis.filter((a) => this.served.has(a.name)).map((a) => a.name);
  }

  /** True once every informer has listed once. */
  synced(): boolean {
    return this.apps.hasSynced() && this.pods.hasSynced() && this.claims.hasSynced() && [...this.children.values()].every((i) => i.hasSynced());
  }

  /** Starts the workers (once the last term's have stopped) and queues every known app: this process now leads. */
  lead(): void {
    this.pool.start();
  }

  /** Cancels the reconciles in flight, drops the queued keys, and resolves once every worker stopped: this process no longer leads. */
  unlead(): Promise<void> {
    return this.pool.stop();
  }

  /** Why the workers look stuck (a reconcile its deadline did not free: WorkerPool.stuck), or undefined; /healthz fails on it. */
  stuck(): string | undefined {
    return this.pool.stuck();
  }

  /** Stops the workers and the informers. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.discoveryTimer !== undefined) this.clock.clearTimeout(this.discoveryTimer);
    await this.unlead();
    this.apps.stop();
    for (const informer of this.children.values()) informer.stop();
    this.pods.stop();
    this.claims.stop();
  }

  private enqueue(key: string): void {
    this.pool.add(key);
  }
}

/** The ClusterClient of the reconciler on real clients. */
export function clusterClient(clients: KubeClients, logger: Logger): ClusterClient {
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return {
    apply: (obj) => applyObject(clients, obj, FIELD_MANAGER),
    create: (obj) => clients.objects.create(obj, undefined, undefined, FIELD_MANAGER),
    async handOverReplicas(obj) {
      const { apiVersion, kind } = obj;
      const name = obj.metadata?.name ?? '';
      const namespace = obj.metadata?.namespace ?? '';
      let live: KubernetesObject & { spec?: { replicas?: number } };
      try {
        live = await clients.objects.read({ apiVersion, kind, metadata: { name, namespace } });
      } catch (err) {
        if (isNotFound(err)) return;
        throw new Error(`while reading ${kind} ${namespace}/${name}`, { cause: err });
      }
      const replicas = live.spec?.replicas;
      if (replicas === undefined || !ownsReplicas(live, FIELD_MANAGER)) return;
      logger.info('handing spec.replicas over before the HPA takes it', { object: `${kind}/${namespace}/${name}`, replicas });
      await applyObject(clients, { apiVersion, kind, metadata: { name, namespace }, spec: { replicas } }, HANDOVER_FIELD_MANAGER);
    },
    async read(apiVersion, kind, namespace, name) {
      try {
        return await clients.objects.read({ apiVersion, kind, metadata: { name, namespace } });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw new Error(`while reading ${kind} ${namespace}/${name}`, { cause: err });
      }
    },
    async delete(obj, propagationPolicy = 'Background') {
      await deleteObject(clients, obj, { propagationPolicy, uid: obj.metadata?.uid });
    },
    async expandClaim(namespace, name, size) {
      await clients.core.patchNamespacedPersistentVolumeClaim(
        { name, namespace, body: { spec: { resources: { requests: { storage: size } } } }, fieldManager: FIELD_MANAGER },
        mergePatch,
      );
    },
    async patchStatus(app, status) {
      logger.debug('writing status', { app: `${app.metadata.namespace}/${app.metadata.name}` });
      await clients.customObjects.patchNamespacedCustomObjectStatus(
        { ...APP_RESOURCE, namespace: app.metadata.namespace!, name: app.metadata.name!, body: { status }, fieldManager: FIELD_MANAGER },
        mergePatch,
      );
    },
  };
}
