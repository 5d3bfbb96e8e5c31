// Counts rate-limit hits per fixed window: in Redis when the cache tier exists (shared by every API pod), in process
// otherwise; while Redis fails, in process (a request never fails because the limiter's store is down).
import type { Redis, Cluster } from 'ioredis';
import type { Metrics } from '../metrics.js';
import { MemoryWindowStore } from './memory-window.store.js';

/** Counts one hit on a window key and returns the window's count including it. */
export interface WindowCounter {
  hit(key: string, expiresAtMs: number, nowMs: number): Promise<number>;
}

// INCR and PEXPIRE in one script, so a key never lives without its expiry (one key: fine on Redis Cluster).
const HIT_SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/** The in-process counter. */
export function memoryWindowCounter(store = new MemoryWindowStore()): WindowCounter {
  return { hit: async (key, expiresAtMs, nowMs) => store.hit(key, expiresAtMs, nowMs) };
}

/** The Redis counter; falls back to `fallback` (in process) for a hit Redis does not answer, counting it in graminsta_ratelimit_store_errors_total. */
export function redisWindowCounter(redis: Redis | Cluster, metrics: Metrics, fallback: WindowCounter = memoryWindowCounter()): WindowCounter {
  return {
    hit: async (key, expiresAtMs, nowMs) => {
      try {
        // The key expires a little after its window so clocks that differ slightly between pods still share it.
        const n = await redis.eval(HIT_SCRIPT, 1, key, String(Math.max(1, expiresAtMs - nowMs) + 5000));
        return Number(n);
      } catch {
        metrics.rateLimitStoreErrors.inc();
        return fallback.hit(key, expiresAtMs, nowMs);
      }
    },
  };
}
