// Error kinds the kube machinery distinguishes: terminal reconcile errors and API status codes.

/** Thrown by a reconciler to say "retrying will not help": the key is forgotten and counted as terminal. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** True when err, or any error in its cause chain, is a TerminalError. */
export function isTerminalError(err: unknown): boolean {
  return findInCauseChain(err, (e) => e instanceof TerminalError) !== undefined;
}

/** The HTTP status of an API error (ApiException.code, Watch's statusCode, or a Status body), searching the cause chain. */
export function statusCodeOf(err: unknown): number | undefined {
  let code: number | undefined;
  findInCauseChain(err, (e) => {
    code = ownStatusCode(e);
    return code !== undefined;
  });
  return code;
}

/** True for 404 Not Found. */
export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

/** True for 409 Conflict (stale resourceVersion, or an object that already exists). */
export function isConflict(err: unknown): boolean {
  return statusCodeOf(err) === 409;
}

function ownStatusCode(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const candidate = e as { code?: unknown; statusCode?: unknown; body?: unknown };
  // ApiException puts the HTTP status in `code`; system errors use string codes like 'ECONNREFUSED'.
  if (typeof candidate.code === 'number' && candidate.code >= 100 && candidate.code < 600) return candidate.code;
  if (typeof candidate.statusCode === 'number') return candidate.statusCode;
  return undefined;
}

function findInCauseChain(err: unknown, test: (e: unknown) => boolean): unknown {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== undefined && current !== null && !seen.has(current)) {
    if (test(current)) return current;
    seen.add(current);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
