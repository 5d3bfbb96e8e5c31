/** An error answer from the API (or the network), carrying the API's stable code and the field it names. */
export class ApiError extends Error {
  /** Builds an error; status 0 means the request never got an answer. */
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly field?: string,
    readonly requestId?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ApiError';
  }
}

/** Reads an API error body (`{error: {code, message, field, requestId}}`); anything else becomes a generic error for that status. */
export function parseApiError(status: number, body: unknown): ApiError {
  const error = body !== null && typeof body === 'object' ? (body as { error?: unknown }).error : undefined;
  if (error !== null && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    const code = typeof e.code === 'string' && e.code !== '' ? e.code : fallbackCode(status);
    const message = typeof e.message === 'string' && e.message !== '' ? e.message : fallbackMessage(status);
    return new ApiError(message, status, code, str(e.field), str(e.requestId));
  }
  return new ApiError(fallbackMessage(status), status, fallbackCode(status));
}

/** Wraps a failure to reach the server at all (offline, DNS, CORS refused). */
export function networkError(cause: unknown): ApiError {
  return new ApiError("Can't reach Graminsta right now. Check your connection and try again.", 0, 'network_error', undefined, undefined, { cause });
}

/** The sentence to show a person for an error: the API's own words where they are meant for people, else a plain one. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return error.message;
    if (error.status === 401 && error.code !== 'invalid_credentials') return 'Your session has ended. Please log in again.';
    if (error.status >= 500) {
      const ref = error.requestId ? ` (reference ${error.requestId})` : '';
      return `Something went wrong on our side${ref}. Please try again in a moment.`;
    }
    // 413 for bytes over the limit; 400 on `size` when the upload slot's declared size already is.
    if (error.status === 413 || error.code === 'upload_too_large' || (error.code === 'validation_failed' && error.field === 'size')) return 'The photo is larger than the server accepts. Try a smaller or more compressed image.';
    return error.field ? stripFieldPrefix(error.message, error.field) : error.message;
  }
  return 'Something unexpected went wrong. Please try again.';
}

/** Drops a leading "field: " from a validation message, for showing it beside that field. */
export function stripFieldPrefix(message: string, field: string): string {
  const prefix = `${field}: `;
  const rest = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function fallbackCode(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'internal';
  return 'http_' + String(status);
}

function fallbackMessage(status: number): string {
  if (status === 404) return 'That could not be found.';
  if (status === 413) return 'That file is too large.';
  if (status === 429) return 'Too many requests. Please wait a moment and try again.';
  return `The server answered with status ${status}.`;
}
