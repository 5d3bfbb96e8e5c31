// HTTP routes for users, sessions, profiles and follows.
import Router from '@koa/router';
import type Koa from 'koa';
import * as v from '../http/validate.js';
import { limits } from '../limits.js';
import { optionalAuth, principal, requireAuth, viewerId } from '../http/auth.js';
import type { ProfileView, UserService } from './user.service.js';
import { jsonResponder, jsonSerializer } from '../http/json-response.js';
import type { FastAnswer, FastRead } from '../http/fast-response.js';
import { rateLimit, rulePolicies, type RouteLimits } from '../http/rate-limit.js';

/** The bytes of a profile response; a near-cached profile is one frozen object, serialized once for both paths below. */
const profileJson = jsonSerializer((user: ProfileView) => ({ user }));

const PROFILE_PREFIX = '/api/v1/users/';
const PROFILE_ROUTE = '/api/v1/users/:username';

/**
 * GET /api/v1/users/:username answered before Koa when the near cache holds the profile and the request is one the
 * Koa route would answer 200 with it: anonymous, unconditional, a plain valid username with no query. Anything else
 * (a token, If-None-Match, encoded characters, a miss) returns false and goes through Koa, which gives the full answer.
 */
export function profileFastRead(users: Pick<UserService, 'heldProfile'>, answer: FastAnswer): FastRead {
  return (req, res) => {
    const url = req.url;
    if (req.method !== 'GET' || url === undefined || !url.startsWith(PROFILE_PREFIX)) return false;
    const h = req.headers;
    if (h.authorization !== undefined || h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) return false;
    const username = url.slice(PROFILE_PREFIX.length);
    if (!v.isUsername(username)) return false;
    const profile = users.heldProfile(username);
    if (!profile) return false;
    answer(req, res, PROFILE_ROUTE, profileJson(profile));
    return true;
  };
}

/** The /api/v1 routes of the user service. */
export function userRoutes(users: UserService, rateLimits: RouteLimits | null = null): Router {
  const r = new Router({ prefix: '/api/v1' });
  const login = rateLimits?.limiter ? rulePolicies('login', rateLimits.rules.login) : null;
  const signup = rateLimits?.limiter ? rulePolicies('signup', rateLimits.rules.signup) : null;
  // Counted before the password is hashed: the limits bound the scrypt work an anonymous client can ask for.
  const limitLogin = rateLimit(rateLimits?.limiter ?? null, (ctx) => {
    const username = (ctx.request.body as { username?: unknown } | undefined)?.username;
    return [{ policy: login!.ip, subject: ctx.ip }, ...(typeof username === 'string' ? [{ policy: login!.account, subject: username }] : [])];
  });
  const limitSignup = rateLimit(rateLimits?.limiter ?? null, (ctx) => [{ policy: signup!.ip, subject: ctx.ip }]);
  const auth = requireAuth(users);
  const maybeAuth = optionalAuth(users);

  r.post('/users', limitSignup, async (ctx: Koa.Context) => {
    const b = v.jsonBody(ctx.request, ['username', 'password', 'displayName']);
    const input = {
      username: v.username(b.username),
      password: v.password(b.password),
      ...(b.displayName === undefined ? {} : { displayName: v.text(b.displayName, 'displayName', limits.displayName) }),
    };
    ctx.status = 201;
    ctx.body = await users.signUp(input);
  });

  r.post('/sessions', limitLogin, async (ctx: Koa.Context) => {
    const b = v.jsonBody(ctx.request, ['username', 'password']);
    ctx.status = 201;
    ctx.body = await users.logIn({ username: v.username(b.username), password: v.password(b.password) });
  });

  r.delete('/sessions/current', auth, async (ctx: Koa.Context) => {
    await users.logOut(principal(ctx));
    ctx.status = 204;
  });

  r.get('/me', auth, async (ctx: Koa.Context) => {
    ctx.body = { user: await users.me(principal(ctx).userId) };
  });

  r.patch('/me', auth, async (ctx: Koa.Context) => {
    const b = v.jsonBody(ctx.request, ['displayName', 'bio']);
    const patch: { displayName?: string; bio?: string } = {};
    if (b.displayName !== undefined) patch.displayName = v.text(b.displayName, 'displayName', limits.displayName);
    if (b.bio !== undefined) patch.bio = v.text(b.bio, 'bio', { ...limits.bio, multiline: true });
    ctx.body = { user: await users.updateMe(principal(ctx).userId, patch) };
  });

  // An anonymous viewer gets the near-cached profile object itself: its response bytes are serialized once.
  const profileResponse = jsonResponder(profileJson);
  r.get('/users/:username', maybeAuth, async (ctx: Koa.Context) => {
    profileResponse(ctx, await users.profileByUsername(v.username(ctx.params.username), viewerId(ctx)));
  });

  r.put('/users/:username/follow', auth, async (ctx: Koa.Context) => {
    await users.setFollow(principal(ctx).userId, v.username(ctx.params.username), true);
    ctx.status = 204;
  });

  r.delete('/users/:username/follow', auth, async (ctx: Koa.Context) => {
    await users.setFollow(principal(ctx).userId, v.username(ctx.params.username), false);
    ctx.status = 204;
  });

  return r;
}
