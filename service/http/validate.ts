// Input validation for route handlers: every failure is a 400 naming the field.
import { AppError, invalid } from '../errors.js';
import { assertKey } from '../storage/keys.js';
import { decodeCursor } from '../cursor.js';
import { charLength, limits, usernamePattern } from '../limits.js';

/** The JSON body as an object with only the `allowed` keys, or a 400. */
export function objectBody(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('body', 'must be a JSON object');
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw invalid(key, `unknown field (allowed: ${allowed.join(', ') || 'none'})`);
  return body as Record<string, unknown>;
}

/** The request's JSON body as an object with only the `allowed` keys; a request that sent no JSON (no body, or not Content-Type: application/json) is a 400. */
export function jsonBody(req: { body?: unknown; rawBody?: string }, allowed: readonly string[]): Record<string, unknown> {
  // The body parser leaves rawBody unset when it parsed nothing (no JSON content type), and empty for an empty body.
  if (req.rawBody === undefined || req.rawBody.trim() === '') throw invalid('body', 'a JSON object is required (Content-Type: application/json)');
  return objectBody(req.body, allowed);
}

const { username: U, password: P } = limits;
const USERNAME = new RegExp(usernamePattern);

/** Whether `v` is a valid username (no error: for callers that hand anything else to the full validation). */
export function isUsername(v: string): boolean {
  return USERNAME.test(v);
}

/** A username: 3-30 characters of a-z, 0-9, _. */
export function username(v: unknown, field = 'username'): string {
  if (typeof v !== 'string' || !USERNAME.test(v)) throw invalid(field, `must be ${U.min}-${U.max} characters of a-z, 0-9, _`);
  return v;
}

/** A password: 8-200 characters (code points). */
export function password(v: unknown, field = 'password'): string {
  if (typeof v === 'string') {
    const n = charLength(v);
    if (n >= P.min && n <= P.max) return v;
  }
  throw invalid(field, `must be a string of ${P.min}-${P.max} characters`);
}

/** Characters String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator), spelled out for the OpenAPI patterns. */
const SPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** The control characters free text may not hold (a regex class body): all of them, or all but the newline when `multiline`. */
const controlClass = (multiline: boolean | undefined) => (multiline ? '\\u0000-\\u0009\\u000b-\\u001f\\u007f' : '\\u0000-\\u001f\\u007f');
/** What text() refuses, built once from the same classes as the OpenAPI patterns. */
const CONTROL_RE = { multiline: new RegExp(`[${controlClass(true)}]`), singleLine: new RegExp(`[${controlClass(false)}]`) };

/** The JSON Schema pattern of free text: no control characters (newlines allowed when `multiline`), and when `nonBlank` something besides whitespace. */
export function textPattern(opts: { multiline?: boolean; nonBlank?: boolean }): string {
  const control = controlClass(opts.multiline);
  const ok = `[^${control}]`;
  return opts.nonBlank ? `^${ok}*[^${SPACE}${control}]${ok}*$` : `^${ok}*$`;
}

/** Free text of `min`..`max` characters (counted before trimming) without control characters (newlines allowed when `multiline`); stored trimmed, and with `min` > 0 not blank. */
export function text(v: unknown, field: string, opts: { min?: number; max: number; multiline?: boolean }): string {
  if (typeof v !== 'string') throw invalid(field, 'must be a string');
  const min = opts.min ?? 0;
  const n = charLength(v);
  if (n < min || n > opts.max) throw invalid(field, `must be ${min}-${opts.max} characters`);
  if ((opts.multiline ? CONTROL_RE.multiline : CONTROL_RE.singleLine).test(v)) throw invalid(field, 'must not contain control characters');
  const s = v.trim();
  if (min > 0 && s === '') throw invalid(field, 'must not be blank');
  return s;
}

/** A positive integer id from a path parameter. */
export function id(v: unknown, field = 'id'): number {
  if (typeof v !== 'string' || !/^[1-9]\d{0,15}$/.test(v) || Number(v) > Number.MAX_SAFE_INTEGER) throw invalid(field, 'must be a positive integer');
  return Number(v);
}

/** A positive integer within [min, max]. */
export function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(field, `must be an integer between ${min} and ${max}`);
  return v;
}

/** An upload id as the service generates them. */
export function uploadId(v: unknown, field = 'uploadId'): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(v)) throw invalid(field, 'must be an upload id returned by POST /api/v1/uploads');
  return v;
}

/** An object key from a percent-encoded URL path (after /images/). */
export function objectKey(encoded: string): string {
  let key: string;
  try {
    key = decodeURIComponent(encoded);
  } catch {
    throw new AppError('invalid_object_key', 'key: is not valid percent-encoding', { field: 'key' });
  }
  return assertKey(key);
}

/** Page size from `?limit=` (default 20, at most 100). */
export function limit(v: unknown): number {
  if (v === undefined) return 20;
  if (typeof v !== 'string' || !/^\d{1,3}$/.test(v) || Number(v) < 1 || Number(v) > 100) throw invalid('limit', 'must be an integer between 1 and 100');
  return Number(v);
}

/** Decodes an opaque `?cursor=` into the id to continue below, or null for the first page. */
export function cursor(v: unknown): number | null {
  if (v === undefined || v === '') return null;
  const id = typeof v === 'string' ? decodeCursor(v) : null;
  if (id === null) throw invalid('cursor', 'must be a cursor returned as nextCursor');
  return id;
}
