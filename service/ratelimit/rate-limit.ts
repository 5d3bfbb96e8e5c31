// The pure parts of rate limiting: fixed windows, the decision for one count, and the IETF RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers-08: `RateLimit-Policy: "name";q=<quota>;w=<window s>` and
// `RateLimit: "name";r=<remaining>;t=<seconds until reset>`). No I/O: the stores count, this decides.

/** One limit: at most `quota` hits per `windowSeconds` for one key (an IP, an account); named as clients see it in the headers. */
export interface LimitPolicy {
  name: string;
  quota: number;
  windowSeconds: number;
}

/** The fixed window `nowMs` falls in: its index (part of the store key, so windows never mix) and when it ends. */
export function windowAt(nowMs: number, windowSeconds: number): { index: number; endsAtMs: number } {
  const ms = windowSeconds * 1000;
  const index = Math.floor(nowMs / ms);
  return { index, endsAtMs: (index + 1) * ms };
}

/** What one policy says about a request that made the window's count `count` (this request included). */
export interface LimitDecision {
  policy: LimitPolicy;
  allowed: boolean;
  remaining: number;
  /** Whole seconds until the window ends (at least 1). */
  resetSeconds: number;
}

/** Decides a request from the window's count after counting it. */
export function decide(policy: LimitPolicy, count: number, nowMs: number): LimitDecision {
  const { endsAtMs } = windowAt(nowMs, policy.windowSeconds);
  return { policy, allowed: count <= policy.quota, remaining: Math.max(0, policy.quota - count), resetSeconds: Math.max(1, Math.ceil((endsAtMs - nowMs) / 1000)) };
}

/** The store key of `policy` for `subject` in the window of `nowMs`; the subject (an IP or a username, both already narrow) is lowercased, cut to 100 characters, and anything else than letters, digits and `_.:-` becomes `_`. */
export function windowKey(policy: LimitPolicy, subject: string, nowMs: number): string {
  const safe = subject.toLowerCase().replace(/[^a-z0-9_.:-]/g, '_').slice(0, 100);
  return `ratelimit:${policy.name}:${safe}:${windowAt(nowMs, policy.windowSeconds).index}`;
}

/** The response fields for the decisions that applied: both RateLimit fields, and Retry-After when one refused. */
export function limitHeaders(decisions: LimitDecision[]): Record<string, string> {
  if (decisions.length === 0) return {};
  const headers: Record<string, string> = {
    'RateLimit-Policy': decisions.map((d) => `"${d.policy.name}";q=${d.policy.quota};w=${d.policy.windowSeconds}`).join(', '),
    RateLimit: decisions.map((d) => `"${d.policy.name}";r=${d.remaining};t=${d.resetSeconds}`).join(', '),
  };
  const refused = decisions.filter((d) => !d.allowed);
  if (refused.length > 0) headers['Retry-After'] = String(Math.max(...refused.map((d) => d.resetSeconds)));
  return headers;
}
