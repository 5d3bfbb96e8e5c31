// The pub/sub connection of the invalidation channel in Redis Cluster mode: one standalone connection to one node at a
// time (a cluster forwards every PUBLISH to all its nodes), moving on to the next node, with backoff, when it ends.
// ioredis' own cluster subscriber (5.x, and its main branch as of 2026-12) picks a new node at once, in a loop, while
// none answers, and each time calls disconnect() again on the last connection that worked, which adds one more 'close'
// listener (and a 2 s timer) to that dead socket: "MaxListenersExceededWarning: 11 close listeners added to [Socket]"
// in every API pod whose Redis Cluster went away for a moment (redis/ioredis#2030).
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';

/** A Redis node's address. */
export interface NodeAddress {
  host: string;
  port: number;
}

/** What the invalidation channel needs from its subscriber connection (a standalone ioredis client has it too). */
export interface SubscriberConnection {
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  subscribe(channel: string): Promise<unknown>;
  readonly status: string;
  disconnect(): void;
}

/** Settings of the rotating subscriber. */
export interface RotatingSubscriberOptions {
  /** The nodes to try, read at every attempt (the cluster's current nodes, or the configured seeds while it knows none). */
  nodes: () => NodeAddress[];
  password?: string;
  connectTimeout?: number;
  /** The wait before attempt `n` (1, 2, ...) after a connection ended. */
  delayMs?: (n: number) => number;
}

/**
 * A subscriber connection that is always at most one standalone client: 'ready' when one becomes ready, 'close' when
 * it goes away, then a new client to the next node after `delayMs`. Emits 'message' and 'error' as ioredis does.
 */
export class RotatingSubscriber extends EventEmitter implements SubscriberConnection {
  private client: Redis | null = null;
  private attempt = 0;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly delayMs: (n: number) => number;

  constructor(private readonly opts: RotatingSubscriberOptions) {
    super();
    this.delayMs = opts.delayMs ?? ((n) => Math.min(100 * n, 2000));
    this.connect();
  }

  /** The current client's status ('ready' once subscribed commands may be sent), 'reconnecting' between clients. */
  get status(): string {
    if (this.stopped) return 'end';
    return this.client?.status ?? 'reconnecting';
  }

  /** How many clients this subscriber has created (for tests: attempts back off). */
  get attempts(): number {
    return this.next;
  }

  subscribe(channel: string): Promise<unknown> {
    if (!this.client) return Promise.reject(new Error('the subscriber is not connected'));
    return this.client.subscribe(channel);
  }

  disconnect(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.client?.disconnect();
    this.client = null;
  }

  private connect(): void {
    const nodes = this.opts.nodes();
    const node = nodes[this.next++ % Math.max(1, nodes.length)];
    if (!node) return this.retry();
    // No reconnects of its own: when it ends, the next attempt may go to another node.
    const client = new Redis({ host: node.host, port: node.port, password: this.opts.password, connectTimeout: this.opts.connectTimeout ?? 1000, retryStrategy: () => null, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.client = client;
    client.on('error', (err: Error) => this.emit('error', err));
    client.on('message', (channel: string, message: string) => this.emit('message', channel, message));
    client.on('ready', () => {
      this.attempt = 0;
      this.emit('ready');
    });
    client.on('close', () => this.emit('close'));
    client.once('end', () => {
      if (this.client === client) this.client = null;
      this.retry();
    });
  }

  private retry(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.connect(), this.delayMs(++this.attempt));
    this.timer.unref();
  }
}
