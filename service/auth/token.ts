// Bearer tokens: HMAC-SHA256 signed "<session>.<user>.<expiry>.<signature>"; the session row makes them revocable.
import crypto from 'node:crypto';

/** What a valid token says. */
export interface TokenClaims {
  sessionId: string;
  userId: number;
  expiresAt: number;
}

/** Who made an authenticated request: the claims of a valid token whose session is live. */
export type Principal = Pick<TokenClaims, 'userId' | 'sessionId'>;

/** Why a token was refused. */
export type TokenProblem = 'malformed' | 'bad_signature' | 'expired';

function sign(secret: string, body: string): string {
  return crypto.createHmac('sha256', secret).update(body).digest('base64url');
}

/** Signs a token for the session; `expiresAt` is a Unix time in seconds. */
export function signToken(secret: string, claims: TokenClaims): string {
  const body = `${claims.sessionId}.${claims.userId}.${claims.expiresAt}`;
  return `${body}.${sign(secret, body)}`;
}

/** Checks a token's shape, signature and expiry at `nowSeconds`; returns the claims or the problem. */
export function verifyToken(secret: string, token: string, nowSeconds: number): TokenClaims | TokenProblem {
  const m = /^([A-Za-z0-9_-]{16,64})\.(\d{1,15})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return 'malformed';
  const body = `${m[1]}.${m[2]}.${m[3]}`;
  const expected = Buffer.from(sign(secret, body));
  const given = Buffer.from(m[4]!);
  if (expected.length !== given.length || !crypto.timingSafeEqual(expected, given)) return 'bad_signature';
  const expiresAt = Number(m[3]);
  if (expiresAt <= nowSeconds) return 'expired';
  return { sessionId: m[1]!, userId: Number(m[2]), expiresAt };
}

/** A new random session id. */
export function newSessionId(): string {
  return crypto.randomBytes(18).toString('base64url');
}
