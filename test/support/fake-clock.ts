// A manual clock for unit tests: time moves only when a test calls advance().
import type { Clock, TimerHandle } from '../../operator/kube/clock.kube.js';

interface FakeTimer {
  id: number;
  due: number;
  fn: () => void;
}

/** Lets everything already resolved run (promise continuations, chained awaits) before returning. */
export async function flushPromises(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A Clock whose timers fire, in due order, only inside advance(). */
export class FakeClock implements Clock {
  private current: number;
  private wallOffset = 0;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current + this.wallOffset;
  }

  monotonicNow(): number {
    return this.current;
  }

  /** Steps the wall clock (now()) by ms, as NTP or an operator might, without moving monotonic time or firing timers. */
  stepWallClock(ms: number): void {
    this.wallOffset += ms;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, due: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** How many timers are scheduled and not yet fired. */
  pending(): number {
    return this.timers.length;
  }

  /** When the earliest pending timer is due, or undefined when none is. */
  nextDue(): number | undefined {
    return this.timers.reduce<number | undefined>((min, t) => (min === undefined || t.due < min ? t.due : min), undefined);
  }

  /** Moves time forward by ms, firing due timers one at a time and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushPromises();
    for (;;) {
      const next = this.timers
        .filter((t) => t.due <= target)
        .sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.due);
      next.fn();
      await flushPromises();
    }
    this.current = target;
    await flushPromises();
  }
}
