import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { statusOf } from '../../../service/http/middleware.js';
import { AppError } from '../../../service/errors.js';
import { signToken } from '../../../service/auth/token.js';
import { verifyPassword } from '../../../service/auth/password.js';
import { createUserService, type UserRepositories } from '../../../service/users/user.service.js';
import type { Profile } from '../../../service/users/user.repository.js';
import type { Session } from '../../../service/users/session.repository.js';
import { FakeDb, MemoryCache, poolOf } from '../fakes.js';

use(chaiAsPromised);

const SECRET = 'unit-test-secret-0123456789';

/** In-memory user, session and follow repositories; sessions written to the primary reach the replica only on `replicate()`. */
function fakeRepositories() {
  const users = new Map<number, { username: string; passwordHash: string; displayName: string; bio: string }>();
  const primarySessions = new Map<string, Session>();
  const replicaSessions = new Map<string, Session>();
  const follows = new Set<string>();
  const profileLoads: number[] = [];
  let gate: Promise<void> | null = null;
  let nextId = 1;
  const profile = (id: number): Profile | null => {
    const u = users.get(id);
    if (!u) return null;
    const count = (f: (a: number, b: number) => boolean) => [...follows].map((k) => k.split(':').map(Number) as [number, number]).filter(([a, b]) => f(a, b)).length;
    return { id, username: u.username, displayName: u.displayName, bio: u.bio, followers: count((_a, b) => b === id), following: count((a) => a === id), photos: 0, createdAt: '2025-01-01T00:00:00.000Z' };
  };
  const repos: UserRepositories = {
    users: {
      insertUser: async (_q, u) => {
        if ([...users.values()].some((x) => x.username === u.username)) throw new AppError('username_taken', `username: ${u.username} is already taken`);
        const id = nextId++;
        users.set(id, { ...u, bio: '' });
        return id;
      },
      findCredentials: async (_q, username) => {
        const e = [...users.entries()].find(([, u]) => u.username === username);
        return e ? { id: e[0], passwordHash: e[1].passwordHash } : null;
      },
      findIdByUsername: async (_q, username) => [...users.entries()].find(([, u]) => u.username === username)?.[0] ?? null,
      replacePasswordHash: async (_q, id, previous, next) => {
        const u = users.get(id);
        if (!u || u.passwordHash !== previous) return false;
        u.passwordHash = next;
        return true;
      },
      findProfile: async (_q, id) => {
        profileLoads.push(id);
        if (gate) await gate;
        return profile(id);
      },
      updateProfile: async (_q, id, patch) => {
        const u = users.get(id)!;
        if (patch.displayName !== undefined) u.displayName = patch.displayName;
        if (patch.bio !== undefined) u.bio = patch.bio;
      },
    },
    sessions: {
      insertSession: async (_q, s) => void primarySessions.set(s.id, { ...s, revokedAt: null }),
      findSession: async (q, id) => (poolOf(q) === 'replica' ? replicaSessions : primarySessions).get(id) ?? null,
      revokeSession: async (_q, id) => {
        const s = primarySessions.get(id);
        if (s) s.revokedAt = new Date();
      },
      deleteExpiredSessions: async () => 0,
    },
    follows: {
      follow: async (_q, a, b) => void follows.add(`${a}:${b}`),
      unfollow: async (_q, a, b) => void follows.delete(`${a}:${b}`),
      isFollowing: async (_q, a, b) => follows.has(`${a}:${b}`),
    },
  };
  return {
    repos,
    users,
    seed: (username: string) => users.set(nextId++, { username, passwordHash: 'not-a-hash', displayName: username, bio: '' }),
    profileLoads,
    replicate: () => primarySessions.forEach((s, id) => replicaSessions.set(id, { ...s })),
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
  };
}

function setup() {
  const db = new FakeDb();
  const cache = new MemoryCache();
  const fake = fakeRepositories();
  let nowMs = Date.UTC(2025, 5, 1);
  const service = createUserService({ db, cache, tokenSecret: SECRET, tokenTtlSeconds: 3600, reinvalidateMs: 5, now: () => nowMs, repositories: fake.repos });
  return { db, cache, service, ...fake, advance: (ms: number) => (nowMs += ms), forgetWrites: () => db.writers.clear() };
}

async function rejectsWith(p: Promise<unknown>, status: number, code: string): Promise<void> {
  const err = (await expect(p).to.be.rejectedWith(AppError)) as unknown as AppError;
  expect({ status: statusOf(err.code), code: err.code }).to.deep.equal({ status, code });
}

describe('user service (fake repositories)', () => {
  it('signs up with a hashed password and a token that authenticates', async () => {
    const s = setup();
    const { user, token } = await s.service.signUp({ username: 'alice', password: 'correct horse' });
    expect(user).to.include({ id: 1, username: 'alice', displayName: 'alice', followers: 0 });
    expect(s.users.get(1)!.passwordHash).to.not.contain('correct horse');
    expect(await verifyPassword('correct horse', s.users.get(1)!.passwordHash)).to.equal(true);
    expect(await s.service.authenticate(token)).to.include({ userId: 1 });
  });

  it('answers the same 401 for an unknown user and a wrong password', async () => {
    const s = setup();
    await s.service.signUp({ username: 'alice', password: 'correct horse' });
    await rejectsWith(s.service.logIn({ username: 'alice', password: 'wrong password' }), 401, 'invalid_credentials');
    await rejectsWith(s.service.logIn({ username: 'nobody', password: 'correct horse' }), 401, 'invalid_credentials');
    expect((await s.service.logIn({ username: 'alice', password: 'correct horse' })).user.id).to.equal(1);
  });

  describe('authenticate', () => {
    it('refuses an expired token with token_expired (injected clock)', async () => {
      const s = setup();
      const { token } = await s.service.signUp({ username: 'alice', password: 'correct horse' });
      s.advance(3599_000);
      await s.service.authenticate(token);
      s.advance(1000);
      await rejectsWith(s.service.authenticate(token), 401, 'token_expired');
    });
    it('refuses forged, foreign-secret and garbage tokens with invalid_token', async () => {
      const s = setup();
      const { token } = await s.service.signUp({ username: 'alice', password: 'correct horse' });
      const [sid, , exp] = token.split('.');
      await rejectsWith(s.service.authenticate(token.replace('.1.', '.2.')), 401, 'invalid_token');
      await rejectsWith(s.service.authenticate(signToken('another-secret-0123456789', { sessionId: sid!, userId: 1, expiresAt: Number(exp) })), 401, 'invalid_token');
      await rejectsWith(s.service.authenticate('garbage'), 401, 'invalid_token');
    });
    it('refuses a validly signed token without a session row', async () => {
      const s = setup();
      s.seed('alice');
      const token = signToken(SECRET, { sessionId: 'x'.repeat(24), userId: 1, expiresAt: Date.UTC(2026, 0, 1) / 1000 });
      await rejectsWith(s.service.authenticate(token), 401, 'invalid_token');
    });
    it('finds a session the replica has not replayed yet on the primary', async () => {
      const s = setup();
      const { token } = await s.service.signUp({ username: 'alice', password: 'correct horse' });
      s.forgetWrites();
      expect(await s.service.authenticate(token)).to.include({ userId: 1 });
    });
    it('refuses a token after log-out with token_revoked', async () => {
      const s = setup();
      const { token } = await s.service.signUp({ username: 'alice', password: 'correct horse' });
      await s.service.logOut(await s.service.authenticate(token));
      s.replicate();
      await rejectsWith(s.service.authenticate(token), 401, 'token_revoked');
    });
  });

  describe('profiles and the cache', () => {
    async function twoUsers() {
      const s = setup();
      s.seed('alice');
      s.seed('bob');
      return s;
    }

    it('serves a second read from the cache', async () => {
      const s = await twoUsers();
      await s.service.profileByUsername('alice', null);
      await s.service.profileByUsername('alice', null);
      expect(s.profileLoads).to.deep.equal([1]);
    });

    it('shares one database load between concurrent misses of one profile', async () => {
      const s = await twoUsers();
      const release = s.hold();
      const all = Promise.all([1, 2, 3, 4, 5].map(() => s.service.profileByUsername('alice', null)));
      await new Promise((r) => setImmediate(r));
      release();
      const profiles = await all;
      expect(s.profileLoads).to.deep.equal([1]);
      expect(new Set(profiles.map((p) => p.username))).to.deep.equal(new Set(['alice']));
    });

    it('does not cache a database read that an invalidation overtook (it may predate the write)', async () => {
      const s = await twoUsers();
      const release = s.hold();
      const read = s.service.profileByUsername('alice', null);
      await new Promise((r) => setImmediate(r));
      await s.cache.del(1); // an invalidation arrives while the read is in flight
      release();
      expect((await read).username).to.equal('alice');
      expect(s.cache.sets).to.equal(0);
      await s.service.profileByUsername('alice', null);
      expect(s.cache.sets).to.equal(1);
      expect(s.profileLoads).to.deep.equal([1, 1]);
    });

    it('reads through to Postgres and writes nothing while Redis is down', async () => {
      const s = await twoUsers();
      s.cache.down = true;
      expect((await s.service.profileByUsername('alice', null)).username).to.equal('alice');
      await s.service.profileByUsername('alice', null);
      expect(s.profileLoads).to.deep.equal([1, 1]);
      expect(s.cache.sets).to.equal(0);
    });

    it('bypasses the cache right after the viewer wrote, and evicts twice', async () => {
      const s = await twoUsers();
      await s.service.profileByUsername('alice', null);
      const updated = await s.service.updateMe(1, { displayName: 'Alice A.' });
      expect(updated.displayName).to.equal('Alice A.');
      expect(s.cache.dels).to.deep.equal([1]);
      await new Promise((r) => setTimeout(r, 20));
      expect(s.cache.dels).to.deep.equal([1, 1]);
    });

    it('shows followedByMe to signed-in viewers, never for themselves', async () => {
      const s = await twoUsers();
      await s.service.setFollow(2, 'alice', true);
      expect(await s.service.profileByUsername('alice', 2)).to.include({ followedByMe: true, followers: 1 });
      expect(await s.service.profileByUsername('alice', 1)).to.include({ followedByMe: false });
      expect(await s.service.profileByUsername('alice', null)).to.not.have.property('followedByMe');
      await s.service.setFollow(2, 'alice', false);
      expect(await s.service.profileByUsername('alice', 2)).to.include({ followedByMe: false, followers: 0 });
    });

    it('refuses to follow yourself (403; unfollowing yourself does nothing) and unknown users (404)', async () => {
      const s = await twoUsers();
      await rejectsWith(s.service.setFollow(1, 'alice', true), 403, 'cannot_follow_self');
      await s.service.setFollow(1, 'alice', false);
      await rejectsWith(s.service.setFollow(1, 'carol', true), 404, 'not_found');
      await rejectsWith(s.service.profileByUsername('carol', null), 404, 'not_found');
    });
  });
});
