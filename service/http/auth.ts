// Bearer-token middleware: `requireAuth` refuses anonymous requests, `optionalAuth` only identifies the caller.
import type Koa from 'koa';
import { AppError } from '../errors.js';
import type { Principal, UserService } from '../users/user.service.js';

function bearer(ctx: Koa.Context): string | null {
  const h = ctx.get('authorization');
  if (!h) return null;
  const m = /^Bearer ([^\s]+)$/i.exec(h);
  if (!m) throw new AppError('invalid_token', 'authorization: must be "Bearer <token>"', { field: 'authorization' });
  return m[1]!;
}

/** Sets ctx.state.principal or throws 401 (missing, malformed, forged, expired or revoked token). */
export function requireAuth(users: UserService): Koa.Middleware {
  return async (ctx, next) => {
    const token = bearer(ctx);
    if (!token) throw new AppError('missing_token', 'authorization: a bearer token is required', { field: 'authorization' });
    ctx.state.principal = await users.authenticate(token);
    await next();
  };
}

/** Sets ctx.state.principal when a valid token is present; a bad token is still a 401. */
export function optionalAuth(users: UserService): Koa.Middleware {
  return async (ctx, next) => {
    const token = bearer(ctx);
    if (token) ctx.state.principal = await users.authenticate(token);
    await next();
  };
}

/** The authenticated caller (only after requireAuth). */
export function principal(ctx: Koa.Context): Principal {
  const p = ctx.state.principal as Principal | undefined;
  if (!p) throw new AppError('missing_token', 'authorization: a bearer token is required');
  return p;
}

/** The caller's user id, or null when anonymous. */
export function viewerId(ctx: Koa.Context): number | null {
  return (ctx.state.principal as Principal | undefined)?.userId ?? null;
}
