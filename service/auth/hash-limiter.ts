// Bounds how many password hashes run at once, so scrypt cannot take every libuv thread from fs, dns and zlib work.
import { AppError } from '../errors.js';

/** Counts a limiter reports (for metrics and tests). */
export interface HashLimiterStats {
  inFlight: number;
  queued: number;
  /** The most hashes that ever ran at once. */
  maxInFlight: number;
  rejected: number;
}

/** A semaphore with a bounded wait queue. */
export interface HashLimiter {
  /** Runs `fn` when a slot is free; throws server_busy at once when `queue` callers already wait. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  stats(): HashLimiterStats;
}

/** A limiter running at most `concurrency` tasks, with at most `queue` more waiting. */
export function createHashLimiter(opts: { concurrency: number; queue: number }): HashLimiter {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new Error(`hash limiter: concurrency must be a positive integer, got ${opts.concurrency}`);
  const waiting: (() => void)[] = [];
  const s: HashLimiterStats = { inFlight: 0, queued: 0, maxInFlight: 0, rejected: 0 };

  function release(): void {
    const next = waiting.shift();
    if (next) {
      s.queued = waiting.length;
      next();
    } else {
      s.inFlight -= 1;
    }
  }

  return {
    async run(fn) {
      if (s.inFlight >= opts.concurrency) {
        if (waiting.length >= opts.queue) {
          s.rejected += 1;
          throw new AppError('server_busy', 'the server is busy; try again shortly');
        }
        // The slot is handed over by release(): inFlight stays the same.
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          s.queued = waiting.length;
        });
      } else {
        s.inFlight += 1;
      }
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      try {
        return await fn();
      } finally {
        release();
      }
    },
    stats: () => ({ ...s }),
  };
}

/** The default number of concurrent hashes: the libuv thread pool (UV_THREADPOOL_SIZE, 4 by default) minus two, at least one. */
export function defaultHashConcurrency(threadPoolSize: number): number {
  return Math.max(1, threadPoolSize - 2);
}
