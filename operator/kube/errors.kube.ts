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

/** True for 409 AlreadyExists (a create of a name that is taken); a 409 without a Status reason counts too. */
export function isAlreadyExists(err: unknown): boolean {
  return isConflict(err) && (reasonOf(err) ?? 'AlreadyExists') === 'AlreadyExists';
}

/** The reason of the API server's Status body (NotFound, AlreadyExists, Conflict, Expired, ...), searching the cause chain. */
export function reasonOf(err: unknown): string | undefined {
  let reason: string | undefined;
  findInCauseChain(err, (e) => {
    const r = statusBodyOf(e)?.reason;
    reason = typeof r === 'string' && r ? r : undefined;
    return reason !== undefined;
  });
  return reason;
}

/** The API server's message for err (its Status body's message, or the raw body), else err's own message. */
export function apiMessageOf(err: unknown): string {
  let message: string | undefined;
  findInCauseChain(err, (e) => {
    const body = (e as { body?: unknown } | null)?.body;
    if (body === undefined || body === null || body === '') return false;
    const m = statusBodyOf(e)?.message;
    message = typeof m === 'string' ? m : typeof body === 'string' ? body : undefined;
    return message !== undefined;
  });
  return message ?? (err instanceof Error ? err.message : String(err));
}

function ownStatusCode(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const candidate = e as { code?: unknown; statusCode?: unknown };
  // ApiException puts the HTTP status in `code`; system errors use string codes like 'ECONNREFUSED'.
  if (typeof candidate.code === 'number' && candidate.code >= 100 && candidate.code < 600) return candidate.code;
  if (typeof candidate.statusCode === 'number') return candidate.statusCode;
  const fromBody = statusBodyOf(e)?.code;
  if (typeof fromBody === 'number' && fromBody >= 100 && fromBody < 600) return fromBody;
  return undefined;
}

/** The metav1.Status in e.body (ApiException keeps it as a JSON string or a parsed object), when there is one. */
function statusBodyOf(e: unknown): { code?: unknown; reason?: unknown; message?: unknown } | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  let body = (e as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { code?: unknown; reason?: unknown; message?: unknown }) : undefined;
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
