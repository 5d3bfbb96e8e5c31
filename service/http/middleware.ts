// Request ids, JSON access logs, request metrics and the one place errors become statuses and the JSON error shape.
import crypto from 'node:crypto';
import Koa from 'koa';
import type { RouterContext } from '@koa/router';
import { AppError, ERROR_CODES, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

/** State every request carries. */
export interface BaseState {
  requestId: string;
  log: Logger;
}

/** The HTTP status of each error code: the only place below the routes where statuses are chosen. */
const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  malformed_json: 400,
  request_aborted: 400,
  invalid_object_key: 400,
  missing_token: 401,
  invalid_token: 401,
  token_expired: 401,
  token_revoked: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  upload_not_found: 404,
  method_not_allowed: 405,
  username_taken: 409,
  upload_already_used: 409,
  upload_incomplete: 409,
  use_presigned_url: 409,
  upload_expired: 410,
  upload_too_large: 413,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_an_image: 415,
  content_type_mismatch: 415,
  cannot_follow_self: 403,
  too_many_open_uploads: 429,
  rate_limited: 429,
  database_unavailable: 503,
  server_busy: 503,
};

/** The HTTP status an error code answers with. */
export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

// Codes for the HTTP errors Koa and its middleware throw themselves (http-errors with a status).
const HTTP_CODES: Record<number, string> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 411: 'length_required', 413: 'payload_too_large', 415: 'unsupported_media_type', 501: 'not_implemented' };

/** Every error code an answer with `status` can carry: the service's own and the one for Koa's http errors of that status. */
export function codesOf(status: number): string[] {
  const codes: string[] = ERROR_CODES.filter((c) => STATUS[c] === status);
  const http = HTTP_CODES[status];
  return http && !codes.includes(http) ? [...codes, http] : codes;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The request id of a request that sent `given` as X-Request-Id: kept when sane, a fresh UUID otherwise. */
export function requestIdFor(given: string | undefined): string {
  return given !== undefined && given !== '' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}

/** The header every response carries so browsers never sniff a type other than the one declared. */
export const NOSNIFF = ['X-Content-Type-Options', 'nosniff'] as const;

/** Assigns a request id (kept from a sane X-Request-Id), sets `X-Content-Type-Options: nosniff`, logs the request as JSON and records its duration. */
export function requestContext(log: Logger, metrics: Metrics): Koa.Middleware {
  // The level is fixed for the process: below info the access line's fields are never built.
  const accessLog = log.enabled('info');
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    const requestId = requestIdFor(ctx.get('x-request-id'));
    ctx.state.requestId = requestId;
    ctx.state.log = log.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    // Browsers must take every response, images above all, as the type it declares: an upload that only looks like
    // an image must never be sniffed into HTML or script.
    ctx.set(NOSNIFF[0], NOSNIFF[1]);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (ctx as Partial<RouterContext>).routerPath ?? (ctx.status === 404 ? 'unmatched' : ctx.path);
      metrics.httpDuration.observe({ method: ctx.method, route: String(route), status: String(ctx.status) }, seconds);
      if (accessLog) ctx.state.log.info('request', { method: ctx.method, path: ctx.path, route, status: ctx.status, durationMs: Math.round(seconds * 1e6) / 1e3 });
    }
  };
}

/** What an error answers: its status and the fields of the JSON error body. */
interface Answer {
  status: number;
  code: string;
  message: string;
  field?: string;
}

/** The answer to `err`: AppErrors by their code, Koa's own 4xx http errors by status, anything else a bare 500. */
function answerFor(err: unknown): Answer {
  if (err instanceof AppError) return { status: statusOf(err.code), code: err.code, message: err.message, field: err.field };
  const e = (typeof err === 'object' && err !== null ? err : {}) as { status?: unknown; expose?: unknown; type?: unknown; message?: unknown };
  if (typeof e.status !== 'number' || e.status < 400 || e.status >= 500) return { status: 500, code: 'internal_error', message: 'internal error' };
  if (e.type === 'entity.parse.failed') return { status: e.status, code: 'malformed_json', message: 'body: is not valid JSON', field: 'body' };
  if (e.type === 'entity.too.large') return { status: e.status, code: 'payload_too_large', message: 'body: is too large', field: 'body' };
  const code = HTTP_CODES[e.status] ?? 'bad_request';
  return { status: e.status, code, message: e.expose === true && typeof e.message === 'string' ? e.message : code.replace(/_/g, ' ') };
}

/** Turns any thrown error, and any error status left without a body, into `{error: {code, message, field?, requestId}}`. */
export function errorHandler(): Koa.Middleware {
  return async (ctx, next) => {
    let answer: Answer;
    try {
      await next();
      if (ctx.body !== undefined || ctx.status < 400) return;
      // Nothing answered (404), or a router set only a status (405 with Allow, 501).
      answer = ctx.status === 404 ? answerFor(new AppError('not_found', `no route for ${ctx.method} ${ctx.path}`)) : { status: ctx.status, code: HTTP_CODES[ctx.status] ?? 'bad_request', message: (HTTP_CODES[ctx.status] ?? 'bad request').replace(/_/g, ' ') };
    } catch (err) {
      answer = answerFor(err);
      const log = ctx.state.log as Logger | undefined;
      if (answer.status === 503) log?.warn('request failed: dependency unavailable', { status: answer.status, code: answer.code, err });
      else if (answer.status >= 500) log?.error('request failed', { status: answer.status, code: answer.code, err });
    }
    const { status, code, message, field } = answer;
    ctx.status = status;
    ctx.body = { error: { code, message, ...(field ? { field } : {}), requestId: String(ctx.state.requestId ?? '') } };
    if (status === 401) ctx.set('WWW-Authenticate', 'Bearer');
    if (status === 503) ctx.set('Retry-After', '2');
  };
}

// Codes of a client that went away before its response ended: nothing is wrong on this side.
const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/**
 * A Koa application whose late errors (after the response started, e.g. a client that closes while an image streams)
 * are logged as one JSON line, a client's early close at debug; Koa's default prints a bare stack trace on stderr.
 */
export function createKoa(log: Logger): Koa {
  const app = new Koa();
  app.on('error', (err: unknown) => {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && CLIENT_GONE.has(code)) log.debug('client closed the connection before the response ended', { code });
    else log.error('response failed after it started', { err });
  });
  return app;
}
