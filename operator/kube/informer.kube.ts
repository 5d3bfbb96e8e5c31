// A supervised informer: client-node's ListWatch, restarted with backoff whenever it stops on an error.
import { KubeConfig, ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { realClock, type Clock, type TimerHandle } from './clock.kube.js';
import type { KubeClients } from './client.kube.js';
import { nopLogger, type Logger } from './logger.kube.js';

/** Backoff between restarts after a list or watch failure: initialMs * factor^(n-1), capped at maxMs. */
export interface InformerBackoff {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
}

/** Options for createInformer. */
export interface InformerOptions<T extends KubernetesObject> {
  /** The watch path, e.g. /api/v1/namespaces/photos/configmaps or /apis/graminsta.io/v1alpha1/graminstaapps. */
  path: string;
  /** Lists the same collection as path (with the same selectors). */
  listFn: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-emit 'update' for every cached object this often; 0 or absent turns resync off. */
  resyncMs?: number;
  clock?: Clock;
  backoff?: InformerBackoff;
  logger?: Logger;
  /** Overrides the watch transport (tests). */
  watch?: Pick<Watch, 'watch'>;
  /** Keep metadata.managedFields in the cache; by default they are dropped, as they are most of an object's size. */
  keepManagedFields?: boolean;
  /**
   * Reduces each listed or watched object to what its readers use, before it is cached; it must keep
   * metadata.name, namespace, uid and resourceVersion (the cache and the watch read them).
   */
  slim?: (obj: T) => T;
  /** Random numbers in [0, 1) for the watch timeout (tests pin it); default Math.random. */
  random?: () => number;
}

/** A watch asks the server to close it after MIN_WATCH_TIMEOUT_SECONDS * (1 + random) seconds, as client-go's reflector. */
export const MIN_WATCH_TIMEOUT_SECONDS = 300;

/** Object event names an informer emits. */
export type InformerEvent = 'add' | 'update' | 'delete';

/** A cache of one kind of object kept current by list+watch, that repairs itself after any failure. */
export interface SupervisedInformer<T extends KubernetesObject> {
  on(event: InformerEvent, fn: (obj: T) => void): void;
  off(event: InformerEvent, fn: (obj: T) => void): void;
  list(namespace?: string): ReadonlyArray<T>;
  get(name: string, namespace?: string): T | undefined;
  /** Starts list+watch; resolves once the first list is in the cache (retrying until it is), or when stopped. */
  start(): Promise<void>;
  stop(): void;
  hasSynced(): boolean;
  /** How many times the informer has restarted list/watch after a failure. */
  restarts(): number;
}

/** Creates a supervised informer over clients.kc (or a KubeConfig) for opts.path. */
export function createInformer<T extends KubernetesObject>(
  source: KubeClients | KubeConfig,
  opts: InformerOptions<T>,
): SupervisedInformer<T> {
  if (!opts.path?.startsWith('/')) throw new Error(`createInformer: path must be an absolute API path (got ${String(opts.path)})`);
  if (typeof opts.listFn !== 'function') throw new Error('createInformer: listFn is required');
  if (opts.resyncMs !== undefined && !(opts.resyncMs >= 0)) throw new Error(`createInformer: resyncMs must be >= 0 (got ${opts.resyncMs})`);
  const kc = source instanceof KubeConfig ? source : source.kc;
  return new Supervisor<T>(kc, opts);
}

class Supervisor<T extends KubernetesObject> implements SupervisedInformer<T> {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly lw: ListWatch<T>;
  private readonly handlers: Record<InformerEvent, Array<(obj: T) => void>> = { add: [], update: [], delete: [] };
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private synced = false;
  private stopped = true;
  private started = false;
  private listedInRound = false;
  private erroredInRound = false;
  private failures = 0;
  private restartCount = 0;
  private restartTimer: TimerHandle | undefined;
  private resyncTimer: TimerHandle | undefined;
  private syncWaiters: Array<() => void> = [];

  constructor(
    kc: KubeConfig,
    private readonly opts: InformerOptions<T>,
  ) {
    this.clock = opts.clock ?? realClock;
    this.logger = (opts.logger ?? nopLogger).child({ informer: opts.path, ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}) });
    this.initialMs = opts.backoff?.initialMs ?? 500;
    this.maxMs = opts.backoff?.maxMs ?? 30_000;
    this.factor = opts.backoff?.factor ?? 2;
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      const list = await opts.listFn();
      // List items come without apiVersion/kind, watch events with them; make the cache consistent.
      const kind = list.kind?.replace(/List$/, '');
      for (const item of list.items ?? []) {
        item.apiVersion ??= list.apiVersion;
        if (kind) item.kind ??= kind;
        if (!opts.keepManagedFields) dropManagedFields(item);
      }
      if (opts.slim) list.items = list.items.map(opts.slim);
      this.listedInRound = true;
      return list;
    };
    const inner = opts.watch ?? new Watch(kc);
    // As client-go's reflector: bookmarks keep a quiet filtered watch's resourceVersion fresh (else the
    // API server's periodic close ends in 410 and a relist), and the server closes each watch after a
    // random 5-10 minutes so that watches spread over API server replicas.
    const random = opts.random ?? Math.random;
    const watch = {
      watch: (path: string, params: Record<string, string | number | boolean | undefined>, callback: (phase: string, obj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void) =>
        inner.watch(
          path,
          { ...params, allowWatchBookmarks: true, timeoutSeconds: Math.floor(MIN_WATCH_TIMEOUT_SECONDS * (1 + random())) },
          (phase, obj, watchObj) => {
            let o = obj as T;
            if (!opts.keepManagedFields) o = dropManagedFields(o);
            // ERROR carries a Status (its code), BOOKMARK only a resourceVersion: left as they are.
            if (opts.slim && (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED')) o = opts.slim(o);
            callback(phase, o, watchObj);
          },
          done,
        ),
    } as Watch;
    this.lw = new ListWatch<T>(opts.path, watch, listFn, false, opts.labelSelector, opts.fieldSelector);
    for (const event of ['add', 'update', 'delete'] as const) {
      this.lw.on(event, (obj: T) => this.emit(event, obj));
    }
    this.lw.on('error', (err?: unknown) => this.onError(err));
    this.lw.on('connect', () => this.logger.debug('watch connecting'));
  }

  on(event: InformerEvent, fn: (obj: T) => void): void {
    this.handlers[event].push(fn);
  }

  off(event: InformerEvent, fn: (obj: T) => void): void {
    this.handlers[event] = this.handlers[event].filter((h) => h !== fn);
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.lw.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  restarts(): number {
    return this.restartCount;
  }

  async start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.stopped = false;
      void this.runRound(false);
    }
    if (this.synced || this.stopped) return;
    await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    if (this.restartTimer !== undefined) this.clock.clearTimeout(this.restartTimer);
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.restartTimer = undefined;
    this.resyncTimer = undefined;
    void this.lw.stop();
    this.releaseSyncWaiters();
  }

  // One list+watch attempt. ListWatch stops for good on any error but 410, so every error schedules another
  // round. A round after a watch error rewatches from the last resourceVersion (as client-go): the API server
  // replays what was missed, or answers 410 Gone when that is too old, on which ListWatch relists by itself.
  private async runRound(restart: boolean): Promise<void> {
    if (this.stopped) return;
    this.listedInRound = false;
    this.erroredInRound = false;
    try {
      await this.lw.start();
    } catch (err) {
      this.onError(err);
    }
    if (this.stopped) return;
    if (this.listedInRound && !this.synced) this.markSynced();
    if (!this.erroredInRound) {
      if (restart) this.logger.info('informer recovered', { restarts: this.restartCount, objects: this.lw.list().length });
      this.failures = 0;
    }
  }

  private onError(err: unknown): void {
    this.erroredInRound = true;
    if (this.stopped || this.restartTimer !== undefined) return;
    this.failures++;
    const delayMs = Math.min(this.initialMs * this.factor ** (this.failures - 1), this.maxMs);
    this.logger.warn('list/watch failed, retrying after backoff', { error: err, attempt: this.failures, delayMs });
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = undefined;
      this.restartCount++;
      void this.runRound(true);
    }, delayMs);
  }

  private markSynced(): void {
    this.synced = true;
    this.logger.debug('informer synced', { objects: this.lw.list().length });
    this.releaseSyncWaiters();
    this.scheduleResync();
  }

  private releaseSyncWaiters(): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private scheduleResync(): void {
    const every = this.opts.resyncMs ?? 0;
    if (!every || this.stopped) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      this.resyncTimer = undefined;
      for (const obj of this.lw.list()) this.emit('update', obj);
      this.scheduleResync();
    }, every);
  }

  private emit(event: InformerEvent, obj: T): void {
    for (const fn of this.handlers[event]) {
      try {
        fn(obj);
      } catch (err) {
        this.logger.error('informer event handler threw', { event, name: obj.metadata?.name, namespace: obj.metadata?.namespace, error: err });
      }
    }
  }
}

/** Removes metadata.managedFields in place (the operator never reads them from the cache) and returns obj. */
function dropManagedFields<O extends KubernetesObject>(obj: O): O {
  if (obj?.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}
