// Creates the ioredis client (standalone or cluster) tuned to fail fast when Redis is unreachable.
import { Redis, Cluster } from 'ioredis';
import type { Logger } from '../log.js';

/** Redis settings from the configuration. */
export interface RedisOptions {
  mode: 'standalone' | 'cluster';
  nodes: { host: string; port: number }[];
  password: string;
}

/** A Redis or Redis Cluster client; commands fail at once while disconnected instead of queueing. */
export function createRedis(opts: RedisOptions, log: Logger): Redis | Cluster {
  const common = {
    password: opts.password || undefined,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 300,
    connectTimeout: 1000,
    enableAutoPipelining: true,
  };
  let lastWarn = 0;
  const onError = (err: Error) => {
    if (Date.now() - lastWarn < 5000) return;
    lastWarn = Date.now();
    log.warn('redis connection error', { err });
  };
  if (opts.mode === 'cluster') {
    const cluster = new Cluster(opts.nodes, {
      enableOfflineQueue: false,
      // Not in cluster mode: ioredis' auto-pipelining holds commands until the client is ready (past
      // enableOfflineQueue and commandTimeout: requests waited seconds) and then reads the slot map without a check;
      // a slot no node serves yet, while the cluster forms or grows, threw a TypeError nothing could catch and ended the
      // API process (journey runs 10 and 14; test/service/cache/redis-cluster-forming.int.test.ts).
      enableAutoPipelining: false,
      slotsRefreshTimeout: 1000,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
      redisOptions: { ...common, enableAutoPipelining: false },
    });
    cluster.on('error', onError);
    return cluster;
  }
  const node = opts.nodes[0]!;
  const redis = new Redis({ ...common, host: node.host, port: node.port, retryStrategy: (times) => Math.min(100 * times, 2000) });
  redis.on('error', onError);
  return redis;
}
