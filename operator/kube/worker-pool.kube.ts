// The reconcile workers of one leadership term at a time: started when this process leads, cancelled at
// once when it stops, and never two terms running together.
import { realClock, type Clock } from './clock.kube.js';
import type { Logger } from './logger.kube.js';
import type { Metrics } from './metrics.kube.js';
import { WorkQueue, runWorkers, type ReconcileResult } from './workqueue.kube.js';

/** Options of a WorkerPool. */
export interface WorkerPoolOptions {
  /** The queue's name in metrics (workqueue_*). */
  name: string;
  /** The controller's name in metrics (controller_runtime_*). */
  controller: string;
  workers: number;
  /** Reconciles key; signal aborts on the reconcile deadline and when the term ends. */
  reconcile: (key: string, signal: AbortSignal) => Promise<ReconcileResult>;
  /** A reconcile's deadline in ms; 0: none. */
  reconcileTimeoutMs: number;
  /** The keys to queue when a term starts (every object the caches know). */
  initialKeys: () => Iterable<string>;
  logger: Logger;
  clock?: Clock;
  metrics?: Metrics;
}

/** A reconcile in flight for this many times its deadline makes the pool report itself stuck (/healthz fails). */
export const STUCK_AFTER_DEADLINES = 2;

const seconds = (ms: number) => String(Math.round(ms / 100) / 10);

interface Term {
  queue: WorkQueue;
  cancel: AbortController;
  done: Promise<void>;
}

/** Runs one worker pool per leadership term; start() and stop() may be called in any order and any number of times. */
export class WorkerPool {
  private readonly clock: Clock;
  private term: Term | undefined;
  private previous: Promise<void> = Promise.resolve();

  constructor(private readonly opts: WorkerPoolOptions) {
    this.clock = opts.clock ?? realClock;
  }

  /** Starts a term: a fresh queue holding initialKeys(), whose workers begin once the previous term's have all stopped. */
  start(): void {
    if (this.term) return;
    const queue = new WorkQueue({ name: this.opts.name, clock: this.clock, metrics: this.opts.metrics });
    const cancel = new AbortController();
    const previous = this.previous;
    const done = (async () => {
      await previous;
      if (cancel.signal.aborted) return;
      for (const key of this.opts.initialKeys()) queue.add(key);
      await runWorkers(queue, {
        workers: this.opts.workers,
        reconcile: this.opts.reconcile,
        reconcileTimeoutMs: this.opts.reconcileTimeoutMs,
        signal: cancel.signal,
        metrics: this.opts.metrics,
        controller: this.opts.controller,
        logger: this.opts.logger,
      });
    })();
    this.term = { queue, cancel, done };
    this.previous = done;
  }

  /** Ends the term: cancels the reconciles in flight, drops the queued keys, and resolves once every worker stopped. */
  async stop(): Promise<void> {
    const term = this.term;
    this.term = undefined;
    if (!term) return this.previous;
    term.cancel.abort(new Error('the worker pool stopped (leadership ended or the process is shutting down)'));
    await term.queue.shutDownDiscarding();
    await term.done;
  }

  /** Queues key in the running term; ignored when no term runs. */
  add(key: string): void {
    this.term?.queue.add(key);
  }

  /** Whether a term runs (between start() and stop()). */
  running(): boolean {
    return this.term !== undefined;
  }

  /**
   * Why the workers look stuck, or undefined: a reconcile still in flight at STUCK_AFTER_DEADLINES times its
   * deadline. The deadline aborts every request of a reconcile, so a hung API server never keeps a worker that
   * long (nor does it fail /healthz: a restart would not help against it); what does is a wait that ignores the
   * abort, which only a restart ends. Without a deadline there is no bound and nothing is reported.
   */
  stuck(): string | undefined {
    const deadline = this.opts.reconcileTimeoutMs;
    if (!deadline) return undefined;
    const longest = this.longestReconcileMs();
    if (longest <= STUCK_AFTER_DEADLINES * deadline) return undefined;
    return `a reconcile has run for ${seconds(longest)} s, past its deadline of ${seconds(deadline)} s, whose abort did not free its worker (bound ${seconds(STUCK_AFTER_DEADLINES * deadline)} s)`;
  }

  /** How long the oldest reconcile in flight has been running, in ms (0 when none is). */
  longestReconcileMs(): number {
    return this.term?.queue.longestProcessingMs() ?? 0;
  }
}
