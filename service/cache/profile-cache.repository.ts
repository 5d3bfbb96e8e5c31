// Profiles cached in Redis under user:<id>; every failure is counted and reported as "unavailable", never thrown.
import type { Redis, Cluster } from 'ioredis';
import type { Metrics } from '../metrics.js';
import type { Profile } from '../users/user.repository.js';

/** Cache-aside storage of profiles; `get` resolves undefined when Redis could not answer. */
export interface ProfileCache {
  get(id: number): Promise<Profile | null | undefined>;
  set(id: number, profile: Profile): Promise<void>;
  del(id: number): Promise<void>;
  /** True when a Redis is configured and connected. */
  ready(): boolean;
  close(): Promise<void>;
}

/** The cache key of a profile. */
export function profileKey(id: number): string {
  return `user:${id}`;
}

/** A ProfileCache over ioredis with `ttlSeconds` expiry. */
export function redisProfileCache(redis: Redis | Cluster, ttlSeconds: number, metrics: Metrics): ProfileCache {
  const failed = (operation: string) => {
    metrics.cacheFallbacks.inc({ operation });
  };
  return {
    async get(id) {
      try {
        const raw = await redis.get(profileKey(id));
        metrics.cacheRequests.inc({ result: raw === null ? 'miss' : 'hit' });
        return raw === null ? null : (JSON.parse(raw) as Profile);
      } catch {
        metrics.cacheRequests.inc({ result: 'error' });
        failed('get');
        return undefined;
      }
    },
    async set(id, profile) {
      try {
        await redis.set(profileKey(id), JSON.stringify(profile), 'EX', ttlSeconds);
      } catch {
        failed('set');
      }
    },
    async del(id) {
      try {
        await redis.del(profileKey(id));
      } catch {
        failed('del');
      }
    },
    ready: () => redis.status === 'ready',
    close: async () => {
      redis.disconnect();
    },
  };
}

/** A ProfileCache that caches nothing (GRAMINSTA_REDIS_MODE=none). */
export function noProfileCache(): ProfileCache {
  return {
    get: async () => null,
    set: async () => undefined,
    del: async () => undefined,
    ready: () => true,
    close: async () => undefined,
  };
}
