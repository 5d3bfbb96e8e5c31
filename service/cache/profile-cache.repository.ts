// Profiles cached in Redis under user:<id>, optionally with in-process near copies; every failure is counted and reported as "unavailable", never thrown.
import type { Redis, Cluster } from 'ioredis';
import type { Metrics } from '../metrics.js';
import type { Profile } from '../users/user.repository.js';
import type { NearCache } from './near-cache.js';
import type { InvalidationChannel } from './invalidation.repository.js';

/** Cache-aside storage of profiles; `get` resolves undefined when Redis could not answer. */
export interface ProfileCache {
  get(id: number): Promise<Profile | null | undefined>;
  /** The near copy of `id` when the near tier may serve it now, counted as a hit; undefined otherwise (nothing counted: call `get`). No I/O. */
  held(id: number): Profile | undefined;
  /** Stores `profile`, unless an invalidation arrived since `version()` returned `since` (the profile may predate it). */
  set(id: number, profile: Profile, since?: number): Promise<void>;
  /** Take this before reading a profile from the database, and pass it to `set`. */
  version(): number;
  del(id: number): Promise<void>;
  /** True when a Redis is configured and connected. */
  ready(): boolean;
  close(): Promise<void>;
}

/** Near copies in front of Redis: served only while the invalidation channel is healthy, never past `maxAgeMs` nor the Redis key's TTL. */
export interface NearTier {
  store: NearCache<Profile>;
  channel: InvalidationChannel;
  maxAgeMs: number;
  now?: () => number;
}

/** The cache key of a profile. */
export function profileKey(id: number): string {
  return `user:${id}`;
}

/** A ProfileCache over ioredis with `ttlSeconds` expiry, with a near tier when `near` is given. */
export function redisProfileCache(redis: Redis | Cluster, ttlSeconds: number, metrics: Metrics, near?: NearTier): ProfileCache {
  const now = near?.now ?? Date.now;
  const failed = (operation: string) => {
    metrics.cacheFallbacks.inc({ operation });
  };
  /** The near tier when it may be used now; drops every copy when the channel is not healthy. */
  const usableNear = (): NearTier | undefined => {
    if (!near) return undefined;
    if (near.channel.healthy()) return near;
    if (near.store.size > 0) near.store.clear();
    metrics.nearCacheRequests.inc({ result: 'bypass' });
    return undefined;
  };
  const countHit = () => {
    metrics.nearCacheRequests.inc({ result: 'hit' });
    metrics.cacheRequests.inc({ result: 'hit' });
  };
  return {
    held(id) {
      if (!near?.channel.healthy()) return undefined;
      const held = near.store.get(id);
      if (held) countHit();
      return held;
    },
    async get(id) {
      const n = usableNear();
      const held = n?.store.get(id);
      if (held) {
        countHit();
        return held;
      }
      if (n) metrics.nearCacheRequests.inc({ result: 'miss' });
      const epoch = n?.store.epoch ?? 0;
      try {
        const key = profileKey(id);
        const [raw, pttl] = await Promise.all([redis.get(key), n ? redis.pttl(key) : Promise.resolve(-2)]);
        metrics.cacheRequests.inc({ result: raw === null ? 'miss' : 'hit' });
        if (raw === null) return null;
        const profile = Object.freeze(JSON.parse(raw) as Profile);
        // pttl -1 (no expiry) cannot come from this service; keep such a copy for maxAgeMs at most.
        if (n && pttl !== -2) n.store.set(id, profile, now() + Math.min(n.maxAgeMs, pttl >= 0 ? pttl : n.maxAgeMs), epoch);
        return profile;
      } catch {
        metrics.cacheRequests.inc({ result: 'error' });
        failed('get');
        return undefined;
      }
    },
    async set(id, profile, since) {
      const n = usableNear();
      const epoch = n?.store.epoch ?? 0;
      // An invalidation (of any profile) raced the database read: its result may be older than the write; do not cache it.
      // Resets (a reconnect, a missing heartbeat) do not count here: under load they are frequent, and refusing every
      // fill after one would leave Redis cold and send the reads to Postgres.
      if (near && since !== undefined && since !== near.store.deleted) {
        metrics.nearCacheRequests.inc({ result: 'raced' });
        return;
      }
      try {
        await redis.set(profileKey(id), JSON.stringify(profile), 'EX', ttlSeconds);
        n?.store.set(id, Object.freeze({ ...profile }), now() + Math.min(n.maxAgeMs, ttlSeconds * 1000), epoch);
      } catch {
        failed('set');
      }
    },
    async del(id) {
      near?.store.delete(id);
      try {
        await redis.del(profileKey(id));
      } catch {
        failed('del');
      }
      // After the delete, so a process that drops its copy on this message cannot refill it with the old value from Redis.
      if (near && !(await near.channel.publish(id))) failed('publish');
    },
    version: () => near?.store.deleted ?? 0,
    ready: () => redis.status === 'ready',
    close: async () => {
      await near?.channel.close();
      redis.disconnect();
    },
  };
}

/** A ProfileCache that caches nothing (GRAMINSTA_REDIS_MODE=none). */
export function noProfileCache(): ProfileCache {
  return {
    get: async () => null,
    held: () => undefined,
    set: async () => undefined,
    version: () => 0,
    del: async () => undefined,
    ready: () => true,
    close: async () => undefined,
  };
}
