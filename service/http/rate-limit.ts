// Rate-limit middleware: counts the request against its limits, sets the RateLimit fields, and answers 429 rate_limited with Retry-After when one is exhausted.
import type Koa from 'koa';
import { AppError } from '../errors.js';
import { limitHeaders, type LimitPolicy } from '../ratelimit/rate-limit.js';
import type { RateLimitRule, RateLimitsConfig } from '../config.js';
import type { LimitCheck, Limiter } from '../ratelimit/limiter.service.js';

/** Limits the requests for which `checks` returns limits (none: the request passes uncounted). */
export function rateLimit(limiter: Limiter | null, checks: (ctx: Koa.Context) => LimitCheck[]): Koa.Middleware {
  return async (ctx, next) => {
    if (!limiter) return next();
    const decisions = await limiter.check(checks(ctx));
    ctx.set(limitHeaders(decisions));
    if (decisions.some((d) => !d.allowed)) throw new AppError('rate_limited', 'too many requests; try again after the time in Retry-After');
    await next();
  };
}

/** The policies of one configured rule: `<action>-ip` and `<action>-account`. */
export function rulePolicies(action: string, rule: RateLimitRule): { ip: LimitPolicy; account: LimitPolicy } {
  return { ip: { name: `${action}-ip`, quota: rule.perIP, windowSeconds: rule.windowSeconds }, account: { name: `${action}-account`, quota: rule.perAccount, windowSeconds: rule.windowSeconds } };
}

/** What the routes need to limit: the limiter (null: limits off) and the configured rules. */
export interface RouteLimits {
  limiter: Limiter | null;
  rules: RateLimitsConfig;
}
