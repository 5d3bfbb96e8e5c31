// Applies named limits to a request's subjects (its client IP, its account) and returns what each decided.
import { decide, windowAt, windowKey, type LimitDecision, type LimitPolicy } from './rate-limit.js';
import type { WindowCounter } from './window.repository.js';

/** One limit to apply to one subject. */
export interface LimitCheck {
  policy: LimitPolicy;
  subject: string;
}

/** Counts `checks` in order and stops at the first refusal (a refused IP does not use up its target account's budget). */
export function createLimiter(deps: { counter: WindowCounter; now?: () => number }) {
  const now = deps.now ?? Date.now;
  return {
    async check(checks: LimitCheck[]): Promise<LimitDecision[]> {
      const decisions: LimitDecision[] = [];
      for (const { policy, subject } of checks) {
        if (policy.quota <= 0) continue;
        const t = now();
        const count = await deps.counter.hit(windowKey(policy, subject, t), windowAt(t, policy.windowSeconds).endsAtMs, t);
        const d = decide(policy, count, t);
        decisions.push(d);
        if (!d.allowed) break;
      }
      return decisions;
    },
  };
}

/** The limiter's interface. */
export type Limiter = ReturnType<typeof createLimiter>;
