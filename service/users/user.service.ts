// Sign-up, log-in, sessions, profiles (cache-aside with single-flight loads) and follows.
import { READ_YOUR_WRITES_MS, type DatabaseHandle } from '../db/database.js';
import { AppError, notFound } from '../errors.js';
import type { ProfileCache } from '../cache/profile-cache.repository.js';
import { PASSWORD_PARAMS, hashPassword, needsRehash, verifyPassword } from '../auth/password.js';
import type { HashLimiter } from '../auth/hash-limiter.js';
import { newSessionId, signToken, verifyToken, type Principal } from '../auth/token.js';
import * as userRepository from './user.repository.js';
import * as sessionRepository from './session.repository.js';
import * as followRepository from './follow.repository.js';
import type { Profile } from './user.repository.js';
import type { Logger } from '../log.js';

/** A profile as the API shows it to a viewer. */
export type ProfileView = Profile & { followedByMe?: boolean };

export type { Principal } from '../auth/token.js';

/** The repositories the user service calls (the real modules unless a test passes fakes). */
export interface UserRepositories {
  users: typeof userRepository;
  sessions: typeof sessionRepository;
  follows: typeof followRepository;
}

/** Dependencies of the user service. */
export interface UserServiceDeps {
  db: DatabaseHandle;
  cache: ProfileCache;
  tokenSecret: string;
  tokenTtlSeconds?: number;
  /** Delay of the second cache invalidation that evicts values refilled from a lagging replica. */
  reinvalidateMs?: number;
  now?: () => number;
  repositories?: UserRepositories;
  /** Bounds concurrent password hashes (none when absent: unit tests). */
  hashLimiter?: HashLimiter;
  log?: Logger;
}

// At the current cost, so an unknown username takes as long as a wrong password.
const DUMMY_HASH = `scrypt$${PASSWORD_PARAMS.N}$${PASSWORD_PARAMS.r}$${PASSWORD_PARAMS.p}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

/** Creates the user service. */
export function createUserService(deps: UserServiceDeps) {
  const { db, cache } = deps;
  const { users, sessions, follows } = deps.repositories ?? { users: userRepository, sessions: sessionRepository, follows: followRepository };
  const now = deps.now ?? Date.now;
  const ttl = deps.tokenTtlSeconds ?? 30 * 24 * 3600;
  const reinvalidateMs = deps.reinvalidateMs ?? READ_YOUR_WRITES_MS;
  const inflight = new Map<number, Promise<Profile | null>>();
  const limited = <T>(fn: () => Promise<T>): Promise<T> => (deps.hashLimiter ? deps.hashLimiter.run(fn) : fn());
  // Usernames never change, so the mapping to ids is safe to keep in memory (bounded).
  const idsByUsername = new Map<string, number>();

  async function issueToken(userId: number): Promise<string> {
    const sessionId = newSessionId();
    const expiresAt = Math.floor(now() / 1000) + ttl;
    await sessions.insertSession(db.write(userId), { id: sessionId, userId, expiresAt: new Date(expiresAt * 1000) });
    return signToken(deps.tokenSecret, { sessionId, userId, expiresAt });
  }

  async function invalidate(...ids: number[]): Promise<void> {
    await Promise.all(ids.map((id) => cache.del(id)));
    // A concurrent miss may refill the cache from a replica that has not replayed the write yet; evict again later.
    setTimeout(() => void Promise.all(ids.map((id) => cache.del(id))), reinvalidateMs).unref();
  }

  /** Loads a profile through the cache; concurrent misses for one id share one database query. */
  async function loadProfile(id: number, viewerId: number | null): Promise<Profile | null> {
    if (db.readsFromPrimary(viewerId)) {
      // The viewer wrote a moment ago: skip the cache (it may hold a value refilled from a lagging replica).
      const since = cache.version();
      const fresh = await users.findProfile(db.read(viewerId), id);
      if (fresh) await cache.set(id, fresh, since);
      return fresh;
    }
    const cached = await cache.get(id);
    if (cached) return cached;
    const redisUp = cached === null;
    const pending = inflight.get(id);
    if (pending) return pending;
    const p = (async () => {
      const since = cache.version();
      // The id is known, so a replica without the row has not replayed the sign-up yet: the primary has it.
      const profile = (await users.findProfile(db.read(viewerId), id)) ?? (await users.findProfile(db.write(), id));
      if (profile && redisUp) await cache.set(id, profile, since);
      return profile;
    })().finally(() => inflight.delete(id));
    inflight.set(id, p);
    return p;
  }

  async function resolveId(username: string, viewerId: number | null): Promise<number> {
    const known = idsByUsername.get(username);
    if (known !== undefined) return known;
    // Ask the primary before a 404: a replica may not have replayed a sign-up of a moment ago.
    const id = (await users.findIdByUsername(db.read(viewerId), username)) ?? (await users.findIdByUsername(db.write(), username));
    if (id === null) throw notFound(`user ${username}`);
    if (idsByUsername.size > 100000) idsByUsername.clear();
    idsByUsername.set(username, id);
    return id;
  }

  return {
    /** Creates a user and a session. */
    async signUp(input: { username: string; password: string; displayName?: string }): Promise<{ user: ProfileView; token: string }> {
      const passwordHash = await limited(() => hashPassword(input.password));
      // The new id is known only after the insert; the session insert below records the write for it.
      const id = await users.insertUser(db.write(), { username: input.username, passwordHash, displayName: input.displayName ?? input.username });
      const token = await issueToken(id);
      const user = await loadProfile(id, id);
      if (!user) throw new Error(`user ${id} vanished right after sign-up`);
      return { user, token };
    },

    /** Checks the password and opens a session; wrong username and wrong password look the same. */
    async logIn(input: { username: string; password: string }): Promise<{ user: ProfileView; token: string }> {
      const cred = await users.findCredentials(db.write(), input.username);
      const ok = await limited(() => verifyPassword(input.password, cred?.passwordHash ?? DUMMY_HASH));
      if (!cred || !ok) throw new AppError('invalid_credentials', 'username or password is wrong');
      if (needsRehash(cred.passwordHash)) {
        // The password is known only now: store it at the current cost. A failure here must not fail the login.
        try {
          const next = await limited(() => hashPassword(input.password));
          await users.replacePasswordHash(db.write(cred.id), cred.id, cred.passwordHash, next);
        } catch (err) {
          deps.log?.warn('could not rehash a password at the current cost', { userId: cred.id, err });
        }
      }
      const token = await issueToken(cred.id);
      const user = await loadProfile(cred.id, cred.id);
      if (!user) throw notFound('user');
      return { user, token };
    },

    /** Revokes the session behind the current token. */
    async logOut(p: Principal): Promise<void> {
      await sessions.revokeSession(db.write(p.userId), p.sessionId);
    },

    /** Resolves a bearer token to its principal, or throws 401 with a code saying why. */
    async authenticate(token: string): Promise<Principal> {
      const claims = verifyToken(deps.tokenSecret, token, Math.floor(now() / 1000));
      if (claims === 'expired') throw new AppError('token_expired', 'the token has expired; log in again');
      if (typeof claims === 'string') throw new AppError('invalid_token', 'the token is not valid');
      // A session created a moment ago may not have reached the replica yet: ask the primary before refusing.
      let session = await sessions.findSession(db.read(claims.userId), claims.sessionId);
      if (!session) session = await sessions.findSession(db.write(), claims.sessionId);
      if (!session || session.userId !== claims.userId) throw new AppError('invalid_token', 'the token is not valid');
      if (session.revokedAt) throw new AppError('token_revoked', 'the token was revoked (logged out)');
      return { userId: claims.userId, sessionId: claims.sessionId };
    },

    /** The profile of `username` as `viewerId` sees it. */
    async profileByUsername(username: string, viewerId: number | null): Promise<ProfileView> {
      const id = await resolveId(username, viewerId);
      const profile = await loadProfile(id, viewerId);
      if (!profile) throw notFound(`user ${username}`);
      if (viewerId === null) return profile;
      const followedByMe = viewerId === id ? false : await follows.isFollowing(db.read(viewerId), viewerId, id);
      return { ...profile, followedByMe };
    },

    /** The profile of `username` as an anonymous viewer sees it, if the near cache holds it now (no I/O); undefined otherwise. */
    heldProfile(username: string): Profile | undefined {
      const id = idsByUsername.get(username);
      return id === undefined ? undefined : cache.held(id);
    },

    /** The caller's own profile. */
    async me(userId: number): Promise<ProfileView> {
      const profile = await loadProfile(userId, userId);
      if (!profile) throw notFound('user');
      return profile;
    },

    /** Updates the caller's display name and/or bio. */
    async updateMe(userId: number, patch: { displayName?: string; bio?: string }): Promise<ProfileView> {
      await users.updateProfile(db.write(userId), userId, patch);
      await invalidate(userId);
      const profile = await loadProfile(userId, userId);
      if (!profile) throw notFound('user');
      return profile;
    },

    /** Makes the caller follow (or unfollow) `username`. */
    async setFollow(userId: number, username: string, on: boolean): Promise<void> {
      const target = await resolveId(username, userId);
      // Refused as an action you may not take (403), not as invalid input: the request itself is well-formed.
      if (target === userId && on) throw new AppError('cannot_follow_self', 'username: you cannot follow yourself', { field: 'username' });
      if (target === userId) return;
      if (on) await follows.follow(db.write(userId), userId, target);
      else await follows.unfollow(db.write(userId), userId, target);
      await invalidate(userId, target);
    },

    /** Evicts cached profiles after a change elsewhere (photo counts). */
    invalidate,
  };
}

/** The user service's interface. */
export type UserService = ReturnType<typeof createUserService>;
