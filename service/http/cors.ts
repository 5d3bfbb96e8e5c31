// CORS for the API: the web tier runs on its own origin and calls the API with bearer tokens (never
// cookies), so any origin may call it.
import type Koa from 'koa';

/** Answers preflight requests and marks every response as readable from any origin. */
export function cors(): Koa.Middleware {
  return (ctx, next) => {
    ctx.set('Access-Control-Allow-Origin', '*');
    ctx.set('Access-Control-Expose-Headers', 'x-request-id');
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
