// The one error type the service throws on purpose: an HTTP status, a stable code and whether the message may be shown.

/** An error with a status, a stable lower_snake code, an optional field and whether clients may see its message. */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly expose: boolean;

  constructor(status: number, code: string, message: string, opts: { field?: string; expose?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = status;
    this.code = code;
    this.field = opts.field;
    this.expose = opts.expose ?? status < 500;
  }
}

/** A 400 naming the field that failed validation. */
export function invalid(field: string, message: string): AppError {
  return new AppError(400, 'validation_failed', `${field}: ${message}`, { field });
}

/** A 404 for a missing resource. */
export function notFound(what: string): AppError {
  return new AppError(404, 'not_found', `${what} not found`);
}

/** A 503 for a dependency that does not answer; the message is safe to show. */
export function unavailable(code: string, message: string, cause?: unknown): AppError {
  return new AppError(503, code, message, { expose: true, cause });
}
