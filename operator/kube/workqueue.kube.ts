// A rate-limited delaying work queue with the semantics of client-go's workqueue, and the workers that drain it.
import { realClock, type Clock, type TimerHandle } from './clock.kube.js';
import { isTerminalError } from './errors.kube.js';
import type { Logger } from './logger.kube.js';
import type { Metrics } from './metrics.kube.js';

/** Options for WorkQueue; delays in milliseconds, defaults as client-go's DefaultControllerRateLimiter. */
export interface WorkQueueOptions {
  name: string;
  clock?: Clock;
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
  metrics?: Metrics;
}

/** Per-key exponential backoff combined with an overall token bucket; the delay is the larger of the two. */
export class RateLimiter {
  private readonly failures = new Map<string, number>();
  private tokens: number;
  private last: number;

  constructor(
    private readonly clock: Clock,
    private readonly baseDelayMs: number,
    private readonly maxDelayMs: number,
    private readonly qps: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** The delay before key may be retried; counts one more failure for key and takes one token. */
  when(key: string): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    const backoff = Math.min(this.baseDelayMs * 2 ** exp, this.maxDelayMs);
    return Math.max(backoff, this.reserveToken());
  }

  /** Clears key's failure count. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many times key has failed since it was last forgotten. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  // golang.org/x/time/rate Reserve().Delay(): tokens may go negative; the debt is paid back at qps.
  private reserveToken(): number {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.qps) / 1000);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
}

/** A de-duplicating queue of keys: one worker per key at a time, delayed and rate-limited adds, graceful shutdown. */
export class WorkQueue {
  readonly name: string;
  readonly clock: Clock;
  private readonly metrics: Metrics | undefined;
  private readonly limiter: RateLimiter;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addTimes = new Map<string, number>();
  private readonly processingStarts = new Map<string, number>();
  private readonly waiting = new Map<string, number>();
  private waitingTimer: { handle: TimerHandle; due: number } | undefined;
  private waiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];
  private shuttingDown = false;
  private readonly unregisterProbe: () => void;

  constructor(opts: WorkQueueOptions) {
    if (!opts.name) throw new Error('WorkQueue: name is required');
    this.name = opts.name;
    this.clock = opts.clock ?? realClock;
    this.metrics = opts.metrics;
    const baseDelayMs = positive('baseDelayMs', opts.baseDelayMs ?? 5);
    const maxDelayMs = positive('maxDelayMs', opts.maxDelayMs ?? 1_000_000);
    const qps = positive('qps', opts.qps ?? 10);
    const burst = positive('burst', opts.burst ?? 100);
    this.limiter = new RateLimiter(this.clock, baseDelayMs, maxDelayMs, qps, burst);
    this.unregisterProbe =
      this.metrics?.registerQueue(this.name, {
        unfinishedWorkSeconds: () => this.unfinishedWorkSeconds(),
        longestRunningProcessorSeconds: () => this.longestRunningProcessorSeconds(),
      }) ?? (() => undefined);
    this.metrics?.workqueueDepth.set({ name: this.name }, 0);
  }

  /** Queues key unless it is already queued; a key being processed is re-queued when its worker calls done(). */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.workqueueAddsTotal.inc({ name: this.name });
    this.metrics?.workqueueDepth.inc({ name: this.name });
    if (!this.addTimes.has(key)) this.addTimes.set(key, this.clock.now());
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds key after delayMs; when key is already waiting, the earlier deadline wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const due = this.clock.now() + delayMs;
    const existing = this.waiting.get(key);
    if (existing !== undefined && existing <= due) return;
    this.waiting.set(key, due);
    this.armWaitingTimer();
  }

  /** Adds key after the rate limiter's delay for it (per-key backoff, overall token bucket). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.workqueueRetriesTotal.inc({ name: this.name });
    this.addAfter(key, this.limiter.when(key));
  }

  /** Resets key's backoff; call it when key was processed successfully or will never be retried. */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  /** How many rate-limited retries key has had since it was last forgotten. */
  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  /** The next key to process; waits for one; undefined once the queue is shut down and empty. */
  async get(): Promise<string | undefined> {
    while (this.queue.length === 0 && !this.shuttingDown) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    const now = this.clock.now();
    this.metrics?.workqueueDepth.dec({ name: this.name });
    const addedAt = this.addTimes.get(key);
    if (addedAt !== undefined) this.metrics?.workqueueQueueDuration.observe({ name: this.name }, (now - addedAt) / 1000);
    this.addTimes.delete(key);
    this.processingStarts.set(key, now);
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }

  /** Marks key as no longer being processed; re-queues it when it was added meanwhile. */
  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const startedAt = this.processingStarts.get(key);
    if (startedAt !== undefined) this.metrics?.workqueueWorkDuration.observe({ name: this.name }, (this.clock.now() - startedAt) / 1000);
    this.processingStarts.delete(key);
    if (this.dirty.has(key)) this.push(key);
    if (this.processing.size === 0) this.releaseDrainWaiters();
  }

  /** How many keys are queued (not counting delayed or in-process ones). */
  len(): number {
    return this.queue.length;
  }

  /** Whether shutDown has been called. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting adds and drops delayed keys; get() hands out what is queued, then returns undefined. */
  shutDown(): void {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      this.waiting.clear();
      if (this.waitingTimer) this.clock.clearTimeout(this.waitingTimer.handle);
      this.waitingTimer = undefined;
      this.unregisterProbe();
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Shuts down and resolves once every key handed out by get() has been marked done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Shuts down, drops every queued key (get() returns undefined at once), and resolves once the keys
   * in flight are done. For a deposed leader: it must not start work on its backlog.
   */
  shutDownDiscarding(): Promise<void> {
    this.metrics?.workqueueDepth.dec({ name: this.name }, this.dirty.size);
    this.queue.length = 0;
    this.dirty.clear();
    this.addTimes.clear();
    return this.shutDownWithDrain();
  }

  /** How long the oldest key in flight has been processed, in ms (0 when none is). */
  longestProcessingMs(): number {
    return this.longestRunningProcessorSeconds() * 1000;
  }

  private push(key: string): void {
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  private releaseDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private armWaitingTimer(): void {
    let earliest: number | undefined;
    for (const due of this.waiting.values()) if (earliest === undefined || due < earliest) earliest = due;
    if (earliest === undefined) return;
    if (this.waitingTimer && this.waitingTimer.due <= earliest) return;
    if (this.waitingTimer) this.clock.clearTimeout(this.waitingTimer.handle);
    const due = earliest;
    const handle = this.clock.setTimeout(() => {
      this.waitingTimer = undefined;
      this.releaseDue();
    }, due - this.clock.now());
    this.waitingTimer = { handle, due };
  }

  private releaseDue(): void {
    const now = this.clock.now();
    const ready = [...this.waiting].filter(([, due]) => due <= now).sort((a, b) => a[1] - b[1]);
    for (const [key] of ready) {
      this.waiting.delete(key);
      this.add(key);
    }
    this.armWaitingTimer();
  }

  private unfinishedWorkSeconds(): number {
    const now = this.clock.now();
    let total = 0;
    for (const start of this.processingStarts.values()) total += now - start;
    return total / 1000;
  }

  private longestRunningProcessorSeconds(): number {
    const now = this.clock.now();
    let longest = 0;
    for (const start of this.processingStarts.values()) longest = Math.max(longest, now - start);
    return longest / 1000;
  }
}

/** What a reconcile returns: nothing (done), `requeue` (retry with backoff) or `requeueAfterMs` (timed work). */
export type ReconcileResult = { requeue?: boolean; requeueAfterMs?: number } | void;

/** Options for runWorkers. */
export interface RunWorkersOptions {
  workers: number;
  /** Reconciles key; signal aborts when the deadline passes or the workers are cancelled. */
  reconcile: (key: string, signal: AbortSignal) => Promise<ReconcileResult>;
  metrics?: Metrics;
  controller: string;
  logger: Logger;
  /** Aborting it cancels every reconcile in flight (its signal aborts). */
  signal?: AbortSignal;
  /** A reconcile's deadline: its signal aborts this long after it started; 0 or absent: none. */
  reconcileTimeoutMs?: number;
}

/** Runs `workers` concurrent loops taking keys from queue; resolves when the queue is shut down and the loops end. */
export async function runWorkers(queue: WorkQueue, opts: RunWorkersOptions): Promise<void> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`runWorkers: workers must be a positive integer (got ${opts.workers})`);
  const { metrics, controller } = opts;
  const logger = opts.logger.child({ controller });
  metrics?.maxConcurrentReconciles.set({ controller }, opts.workers);
  metrics?.activeWorkers.set({ controller }, 0);
  const loop = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await processKey(queue, key, opts, logger);
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, loop));
}

async function processKey(queue: WorkQueue, key: string, opts: RunWorkersOptions, logger: Logger): Promise<void> {
  const { metrics, controller, reconcileTimeoutMs } = opts;
  metrics?.activeWorkers.inc({ controller });
  const started = queue.clock.now();
  const cancel = new AbortController();
  const onCancelled = (): void => cancel.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onCancelled();
  else opts.signal?.addEventListener('abort', onCancelled, { once: true });
  const deadline = reconcileTimeoutMs
    ? queue.clock.setTimeout(() => cancel.abort(new Error(`reconcile of ${key} passed its deadline of ${reconcileTimeoutMs} ms`)), reconcileTimeoutMs)
    : undefined;
  try {
    const result = await opts.reconcile(key, cancel.signal);
    if (result && result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
      queue.forget(key);
      queue.addAfter(key, result.requeueAfterMs);
      metrics?.reconcileTotal.inc({ controller, result: 'requeue_after' });
    } else if (result && result.requeue) {
      queue.addRateLimited(key);
      metrics?.reconcileTotal.inc({ controller, result: 'requeue' });
    } else {
      queue.forget(key);
      metrics?.reconcileTotal.inc({ controller, result: 'success' });
    }
  } catch (err) {
    metrics?.reconcileErrorsTotal.inc({ controller });
    metrics?.reconcileTotal.inc({ controller, result: 'error' });
    if (isTerminalError(err)) {
      metrics?.terminalReconcileErrorsTotal.inc({ controller });
      queue.forget(key);
      logger.error('reconcile failed terminally, not retrying', { key, error: err });
    } else {
      queue.addRateLimited(key);
      logger.error('reconcile failed, retrying with backoff', { key, error: err, retries: queue.numRequeues(key) });
    }
  } finally {
    if (deadline !== undefined) queue.clock.clearTimeout(deadline);
    opts.signal?.removeEventListener('abort', onCancelled);
    metrics?.reconcileTime.observe({ controller }, (queue.clock.now() - started) / 1000);
    metrics?.activeWorkers.dec({ controller });
    queue.done(key);
  }
}

function positive(field: string, value: number): number {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new Error(`WorkQueue: ${field} must be a positive number (got ${String(value)})`);
  }
  return value;
}
