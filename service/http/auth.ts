// Bearer-token middleware: `requireAuth` refuses anonymous requests, `optionalAuth` only identifies the caller.
import type Koa from 'koa';
import { AppError } from '../errors.js';
import type { Principal } from '../auth/token.js';

/** What resolves a bearer token to its principal (the user service), throwing when the token is refused. */
export interface Authenticator {
  authenticate(token: string): Promise<Principal>;
}

function bearer(ctx: Koa.Context): string | null {
  const h = ctx.get('authorization');
  if (!h) return null;
  const m = /^Bearer ([^\s]+)$/i.exec(h);
  if (!m) throw new AppError('invalid_token', 'authorization: must be "Bearer <token>"', { field: 'authorization' });
  return m[1]!;
}

/** Sets ctx.state.principal or throws 401 (missing, malformed, forged, expired or revoked token). */
export function requireAuth(users: Authenticator): Koa.Middleware {
  return async (ctx, next) => {
    const token = bearer(ctx);
    if (!token) throw new AppError('missing_token', 'authorization: a bearer token is required', { field: 'authorization' });
    ctx.state.principal = await users.authenticate(token);
    await next();
  };
}

/** Sets ctx.state.principal when a valid token is present; a bad token is still a 401. */
export function optionalAuth(users: Authenticator): Koa.Middleware {
  // Not async: an anonymous request (most reads) passes straight through without a promise of its own.
  return (ctx, next) => {
    const token = bearer(ctx);
    if (!token) return next();
    return users.authenticate(token).then((p) => {
      ctx.state.principal = p;
      return next();
    });
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
