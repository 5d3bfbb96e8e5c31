// Request ids, JSON access logs, request metrics and the one place errors become statuses and the JSON error shape.
import crypto from 'node:crypto';
import type Koa from 'koa';
import type { RouterContext } from '@koa/router';
import { AppError, type ErrorCode } from '../errors.js';
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
  upload_too_large: 413,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_an_image: 415,
  content_type_mismatch: 415,
  cannot_follow_self: 422,
  database_unavailable: 503,
};

/** The HTTP status an error code answers with. */
export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

// Codes for the HTTP errors Koa and its middleware throw themselves (http-errors with a status).
const HTTP_CODES: Record<number, string> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed', 411: 'length_required', 413: 'payload_too_large', 415: 'unsupported_media_type', 501: 'not_implemented' };

/** Assigns a request id (kept from a sane X-Request-Id), logs the request as JSON and records its duration. */
export function requestContext(log: Logger, metrics: Metrics): Koa.Middleware {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    const given = ctx.get('x-request-id');
    const requestId = /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : crypto.randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = log.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (ctx as Partial<RouterContext>).routerPath ?? (ctx.status === 404 ? 'unmatched' : ctx.path);
      metrics.httpDuration.observe({ method: ctx.method, route: String(route), status: String(ctx.status) }, seconds);
      ctx.state.log.info('request', { method: ctx.method, path: ctx.path, route, status: ctx.status, durationMs: Math.round(seconds * 1e6) / 1e3 });
    }
  };
}

/** Turns any thrown error into a status and `{error: {code, message, field?, requestId}}`; unknown errors show a generic message. */
export function errorHandler(): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('not_found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      const requestId = String(ctx.state.requestId ?? '');
      let status = 500;
      let code = 'internal_error';
      let message = 'internal error';
      let field: string | undefined;
      if (err instanceof AppError) {
        status = statusOf(err.code);
        code = err.code;
        message = err.message;
        field = err.field;
      } else {
        const e = (typeof err === 'object' && err !== null ? err : {}) as { status?: unknown; expose?: unknown; type?: unknown; message?: unknown };
        if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
          status = e.status;
          if (e.type === 'entity.parse.failed') {
            code = 'malformed_json';
            message = 'body: is not valid JSON';
            field = 'body';
          } else if (e.type === 'entity.too.large') {
            code = 'payload_too_large';
            message = 'body: is too large';
            field = 'body';
          } else {
            code = HTTP_CODES[status] ?? 'bad_request';
            message = e.expose === true && typeof e.message === 'string' ? e.message : code.replace(/_/g, ' ');
          }
        }
      }
      const log = (ctx.state.log as Logger | undefined) ?? undefined;
      if (status === 503) log?.warn('request failed: dependency unavailable', { status, code, err });
      else if (status >= 500) log?.error('request failed', { status, code, err });
      ctx.status = status;
      ctx.body = { error: { code, message, ...(field ? { field } : {}), requestId } };
      if (status === 401) ctx.set('WWW-Authenticate', 'Bearer');
      if (status === 503) ctx.set('Retry-After', '2');
    }
  };
}
