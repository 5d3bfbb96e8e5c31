// Injectable time, so that queues, informers and leader election can be tested without sleeping.

/** An opaque timer handle returned by Clock.setTimeout. */
export type TimerHandle = unknown;

/** The source of time and timers every kube component takes instead of the globals. */
export interface Clock {
  /** Wall time in epoch ms: for timestamps written to objects. */
  now(): number;
  /** Monotonic ms from an arbitrary origin: for measuring durations and deadlines, immune to wall-clock steps. */
  monotonicNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The wall clock and the process's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  monotonicNow: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after ms on the given clock, or early (without rejecting) when the signal aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
