// CORS for the API: the web tier runs on its own origin and calls the API with bearer tokens (never
// cookies), so any origin may call it.
import type Koa from 'koa';

/** The headers every API response carries, as name, value pairs. */
export const CORS_HEADERS: readonly (readonly [string, string])[] = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Expose-Headers', 'x-request-id'],
];

/** Answers preflight requests and marks every response as readable from any origin. */
export function cors(): Koa.Middleware {
  return (ctx, next) => {
    for (const [name, value] of CORS_HEADERS) ctx.set(name, value);
    if (ctx.method === 'OPTIONS' && ctx.get('Access-Control-Request-Method')) {
      ctx.set('Access-Control-Allow-Methods', 'GET,POST,PUT,PATCH,DELETE');
      ctx.set('Access-Control-Allow-Headers', 'authorization,content-type');
      ctx.set('Access-Control-Max-Age', '600');
      ctx.status = 204;
      return Promise.resolve();
    }
    return next();
  };
}
