// Reads the Redis server's INFO (and CLUSTER INFO when it runs in cluster mode) for the Redis exporter.
import type { Redis } from 'ioredis';

/** The raw INFO text and, for a cluster node, the CLUSTER INFO text. */
export interface RedisInfoText {
  info: string;
  clusterInfo: string | null;
}

/** Reads INFO from one Redis server (a plain client: the exporter reads its own pod's node, never the whole cluster). */
export async function readRedisInfo(redis: Redis): Promise<RedisInfoText> {
  const info = await redis.info();
  const clusterInfo = /^cluster_enabled:1\s*$/m.test(info) ? String(await redis.call('CLUSTER', 'INFO')) : null;
  return { info, clusterInfo };
}
