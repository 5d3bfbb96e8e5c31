// Profile invalidations between API processes over Redis pub/sub, with heartbeats and sequence numbers that detect lost messages.
import crypto from 'node:crypto';
import type { Redis, Cluster } from 'ioredis';
import type { Logger } from '../log.js';
import type { SubscriberConnection } from './cluster-subscriber.infra.js';

/** The pub/sub channel of profile invalidations. */
export const INVALIDATION_CHANNEL = 'graminsta:profile-invalidations';

/** What the near cache needs from the channel. */
export interface InvalidationChannel {
  /**
   * Tells every other process to drop its near copy of `id`; resolves false when the publish failed. The caller has
   * dropped its own copy before publishing, so its message coming back is not an invalidation again: under a cluster's
   * slower fan-out that echo used to refuse the fills started after the write (ProfileCache.set's race check).
   */
  publish(id: number): Promise<boolean>;
  /** True while this process's own heartbeat came back through the channel within the window: near copies may be served. */
  healthy(): boolean;
  close(): Promise<void>;
}

/** Why the near copies were dropped: the subscription (re)connected or closed, a message went missing, or heartbeats stopped. */
export type ResetReason = 'connection' | 'gap' | 'heartbeat';

/** Settings and callbacks of the channel. */
export interface InvalidationChannelOptions {
  /** Called for every invalidation another process published. */
  onInvalidate: (id: number) => void;
  /** Called when messages may have been lost (subscriber reconnected, a sequence gap, heartbeats stopped): drop every near copy. */
  onReset: (reason: ResetReason, detail: string) => void;
  heartbeatMs?: number;
  /** How long after the last own heartbeat the channel counts as healthy. */
  windowMs?: number;
  log: Logger;
  now?: () => number;
}

/**
 * An invalidation channel over `redis` (publishing) and `subscriber` (a dedicated connection).
 * Messages are `i <instance> <seq> <id>` and heartbeats `h <instance> <seq>`; every instance numbers its messages,
 * so a subscriber that misses one sees a gap in that instance's sequence and resets.
 */
export function redisInvalidationChannel(redis: Redis | Cluster, subscriber: SubscriberConnection, opts: InvalidationChannelOptions): InvalidationChannel {
  const now = opts.now ?? Date.now;
  const heartbeatMs = opts.heartbeatMs ?? 200;
  const windowMs = opts.windowMs ?? 1000;
  const instance = crypto.randomBytes(8).toString('hex');
  let seq = 0;
  let lastOwnBeat = 0;
  let wasHealthy = false;
  let closed = false;
  const lastSeen = new Map<string, { seq: number; at: number }>();

  const reset = (reason: ResetReason, detail: string) => {
    lastSeen.clear();
    opts.onReset(reason, detail);
  };

  // Cluster: keyless commands go to a random node, which would reorder one instance's messages; publish through one node.
  const publisher = (): Redis | Cluster => {
    if (!redis.isCluster) return redis;
    const masters = (redis as Cluster).nodes('master').filter((n) => n.status === 'ready');
    masters.sort((a, b) => `${a.options.host}:${a.options.port}`.localeCompare(`${b.options.host}:${b.options.port}`));
    return masters[0] ?? redis;
  };

  const send = async (message: string, pub: Redis | Cluster = publisher()): Promise<boolean> => {
    try {
      await pub.publish(INVALIDATION_CHANNEL, message);
      return true;
    } catch {
      return false;
    }
  };

  const onMessage = (channel: string, message: string) => {
    if (channel !== INVALIDATION_CHANNEL) return;
    const [kind, from, seqRaw, idRaw] = message.split(' ');
    const n = Number(seqRaw);
    if ((kind !== 'i' && kind !== 'h') || !from || !Number.isInteger(n)) return;
    if (kind === 'i' && from !== instance) {
      const id = Number(idRaw);
      if (Number.isSafeInteger(id)) opts.onInvalidate(id);
    }
    const t = now();
    const prev = lastSeen.get(from);
    if (prev && n !== prev.seq + 1) {
      reset('gap', `message gap from ${from}: ${prev.seq} then ${n}`);
      return;
    }
    lastSeen.set(from, { seq: n, at: t });
    if (from === instance && kind === 'h') lastOwnBeat = t;
    if (lastSeen.size > 1000) for (const [k, v] of lastSeen) if (t - v.at > 10000) lastSeen.delete(k);
  };

  const subscribe = () => {
    subscriber.subscribe(INVALIDATION_CHANNEL).catch((err: unknown) => opts.log.warn('could not subscribe to profile invalidations', { err }));
  };
  let lastWarn = 0;
  subscriber.on('error', (err: Error) => {
    if (now() - lastWarn < 5000) return;
    lastWarn = now();
    opts.log.warn('redis subscriber connection error', { err });
  });
  subscriber.on('message', onMessage);
  // Anything published while the subscription was down is lost: start from an empty near cache once it is back.
  subscriber.on('ready', () => {
    reset('connection', 'subscriber connected');
    subscribe();
  });
  subscriber.on('close', () => {
    lastOwnBeat = 0;
    reset('connection', 'subscriber connection closed');
  });
  if (subscriber.status === 'ready') subscribe();

  const timer = setInterval(() => {
    // While Redis is unreachable no heartbeat is sent (failing publishes pile up listeners); the window then runs out.
    const pub = publisher();
    if (pub.status === 'ready') void send(`h ${instance} ${++seq}`, pub);
    // A channel that went quiet: drop the copies now rather than at the next read.
    if (wasHealthy && !healthy()) reset('heartbeat', 'no heartbeat within the window');
  }, heartbeatMs);
  timer.unref();

  function healthy(): boolean {
    const ok = !closed && lastOwnBeat > 0 && now() - lastOwnBeat <= windowMs;
    wasHealthy = ok;
    return ok;
  }

  return {
    publish: (id) => send(`i ${instance} ${++seq} ${id}`),
    healthy,
    close: async () => {
      closed = true;
      clearInterval(timer);
      subscriber.disconnect();
    },
  };
}
