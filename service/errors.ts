// The one error type the service throws on purpose: a stable code, a message written for clients and the field at fault.
// Codes say what went wrong, not how HTTP answers it: http/errors.ts maps each code to a status.

/** Every code the service's errors carry (lower_snake, stable: clients branch on them). */
export const ERROR_CODES = [
  'validation_failed',
  'malformed_json',
  'request_aborted',
  'invalid_object_key',
  'missing_token',
  'invalid_token',
  'token_expired',
  'token_revoked',
  'invalid_credentials',
  'forbidden',
  'not_found',
  'upload_not_found',
  'method_not_allowed',
  'username_taken',
  'upload_already_used',
  'upload_incomplete',
  'upload_expired',
  'too_many_open_uploads',
  'use_presigned_url',
  'upload_too_large',
  'payload_too_large',
  'unsupported_media_type',
  'not_an_image',
  'content_type_mismatch',
  'cannot_follow_self',
  'rate_limited',
  'database_unavailable',
  'server_busy',
] as const;

/** One of ERROR_CODES. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error with a stable code, an optional field and a message that is always safe to show to clients. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.field = opts.field;
  }
}

/** Input that failed validation, naming the field. */
export function invalid(field: string, message: string): AppError {
  return new AppError('validation_failed', `${field}: ${message}`, { field });
}

/** A missing resource. */
export function notFound(what: string): AppError {
  return new AppError('not_found', `${what} not found`);
}

/** A dependency that does not answer; the caller may retry. */
export function unavailable(code: 'database_unavailable', message: string, cause?: unknown): AppError {
  return new AppError(code, message, { cause });
}
