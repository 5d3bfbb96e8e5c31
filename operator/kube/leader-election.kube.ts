// Lease-based leader election with client-go's rules: expiry judged by the candidate's own observation time.
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { realClock, sleep, type Clock } from './clock.kube.js';
import type { KubeClients } from './client.kube.js';
import { isConflict, isNotFound } from './errors.kube.js';
import type { Logger } from './logger.kube.js';
import type { Metrics } from './metrics.kube.js';

/** The fields of a coordination.k8s.io Lease that leader election reads and writes; times in epoch ms. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number;
  renewTime: number;
  leaseTransitions: number;
}

/** A stored lease record with the version that guards the next update. */
export interface VersionedLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** Where the lease lives; create and update reject with a 409 (statusCode/code) when someone else wrote first. */
export interface LeaseStore {
  get(): Promise<VersionedLease | undefined>;
  create(record: LeaseRecord): Promise<VersionedLease>;
  update(record: LeaseRecord, resourceVersion: string): Promise<VersionedLease>;
  /** Where the lease is, for logs. */
  describe(): string;
}

/** Options for LeaderElector; durations in milliseconds, defaults as client-go's. */
export interface LeaderElectorOptions {
  clients: KubeClients;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  logger: Logger;
  metrics?: Metrics;
  onStartedLeading: () => void;
  /** Stops everything that runs while leading; the lease is given back (on abort or release) only once its promise settles. */
  onStoppedLeading: () => void | Promise<void>;
  /** Random numbers in [0, 1) for the acquisition jitter (tests pin it); default Math.random. */
  random?: () => number;
  /** Overrides the Lease in the API server (tests); defaults to createLeaseStore(clients, namespace, name). */
  store?: LeaseStore;
}

/** The Lease object in the API server as a LeaseStore. */
export function createLeaseStore(clients: KubeClients, namespace: string, name: string): LeaseStore {
  const api = clients.coordination;
  const toLease = (record: LeaseRecord, resourceVersion?: string): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: new V1MicroTime(record.acquireTime),
      renewTime: new V1MicroTime(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  });
  return {
    describe: () => `Lease ${namespace}/${name}`,
    async get() {
      try {
        return fromLease(await api.readNamespacedLease({ name, namespace }));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw new Error(`while reading Lease ${namespace}/${name}`, { cause: err });
      }
    },
    async create(record) {
      return fromLease(await api.createNamespacedLease({ namespace, body: toLease(record) }));
    },
    async update(record, resourceVersion) {
      return fromLease(await api.replaceNamespacedLease({ name, namespace, body: toLease(record, resourceVersion) }));
    },
  };
}

function fromLease(lease: V1Lease): VersionedLease {
  const spec = lease.spec ?? {};
  const time = (t: unknown): number => (t ? new Date(t as string | Date).getTime() : 0);
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: time(spec.acquireTime),
      renewTime: time(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
  };
}

/** client-go's JitterFactor for acquisition retries: each waits retryPeriod * (1 + 1.2 * random). */
export const ACQUIRE_JITTER_FACTOR = 1.2;

/** Runs for leadership of one Lease; calls onStartedLeading/onStoppedLeading as it gains and loses it. */
export class LeaderElector {
  private readonly clock: Clock;
  private readonly store: LeaseStore;
  private readonly logger: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: VersionedLease | undefined;
  private observedTime = 0;
  private leading = false;
  private releasing: AbortController | undefined;
  private stopped: Promise<void> = Promise.resolve();

  constructor(private readonly opts: LeaderElectorOptions) {
    for (const field of ['namespace', 'name', 'identity'] as const) {
      if (!opts[field]) throw new Error(`LeaderElector: ${field} is required`);
    }
    this.clock = opts.clock ?? realClock;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) throw new Error('LeaderElector: leaseDurationMs must be greater than renewDeadlineMs');
    if (!(this.renewDeadlineMs > this.retryPeriodMs)) throw new Error('LeaderElector: renewDeadlineMs must be greater than retryPeriodMs');
    if (!(this.retryPeriodMs > 0)) throw new Error('LeaderElector: retryPeriodMs must be positive');
    this.store = opts.store ?? createLeaseStore(opts.clients, opts.namespace, opts.name);
    this.logger = opts.logger.child({ lease: this.store.describe(), identity: opts.identity });
    opts.metrics?.leaderElectionMasterStatus.set({ name: opts.name }, 0);
  }

  /** Whether this elector currently holds the lease. */
  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Acquires the lease (retrying every retryPeriod, jittered), then renews it until renewing fails for
   * renewDeadline, release() is called, or signal aborts (which releases the lease once onStoppedLeading
   * settled). Resolves once it no longer leads and onStoppedLeading settled, as client-go's Run does:
   * call run again (or exit the process) to stand for election again.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.releasing = new AbortController();
    const stop = AbortSignal.any([signal, this.releasing.signal]);
    if (!(await this.acquire(stop))) return;
    if (stop.aborted) {
      await this.releaseRecord();
      return;
    }
    this.leading = true;
    this.opts.metrics?.leaderElectionMasterStatus.set({ name: this.opts.name }, 1);
    this.logger.info('became leader');
    this.callback(this.opts.onStartedLeading, 'onStartedLeading');
    await this.renewLoop(stop);
    if (this.leading) await this.release();
    else await this.stopped;
  }

  /**
   * Stops leading: calls onStoppedLeading, waits for it, then gives up the lease (clears holderIdentity) so
   * another candidate takes over without waiting for expiry, and never while this process still works.
   */
  async release(): Promise<void> {
    this.releasing?.abort();
    if (!this.leading) return this.stopped;
    await this.stepDown('released the lease');
    await this.releaseRecord();
  }

  private async releaseRecord(): Promise<void> {
    const observed = this.observed;
    if (!observed || observed.record.holderIdentity !== this.opts.identity) return;
    const now = this.clock.now();
    try {
      this.observed = await this.store.update(
        { ...observed.record, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
        observed.resourceVersion,
      );
      this.observedTime = now;
    } catch (err) {
      this.logger.warn('could not release the lease; it will expire instead', { error: err });
    }
  }

  private async acquire(stop: AbortSignal): Promise<boolean> {
    this.logger.info('attempting to acquire leader lease');
    while (!stop.aborted) {
      if (await this.tryAcquireOrRenew()) return true;
      if (stop.aborted) break;
      const random = this.opts.random ?? Math.random;
      await sleep(this.clock, this.retryPeriodMs * (1 + ACQUIRE_JITTER_FACTOR * random()), stop);
    }
    return false;
  }

  private async renewLoop(stop: AbortSignal): Promise<void> {
    while (!stop.aborted && this.leading) {
      await sleep(this.clock, this.retryPeriodMs, stop);
      if (stop.aborted || !this.leading) return;
      const deadline = this.clock.monotonicNow() + this.renewDeadlineMs;
      let renewed = false;
      while (!renewed && !stop.aborted && this.clock.monotonicNow() < deadline) {
        renewed = await this.withDeadline(this.tryAcquireOrRenew(), deadline);
        if (!renewed && this.clock.monotonicNow() + this.retryPeriodMs < deadline) await sleep(this.clock, this.retryPeriodMs, stop);
        else if (!renewed) await sleep(this.clock, deadline - this.clock.monotonicNow(), stop);
      }
      if (!renewed && !stop.aborted && this.leading) {
        void this.stepDown(`failed to renew the lease within ${this.renewDeadlineMs} ms`);
        return;
      }
    }
  }

  // One round of client-go's tryAcquireOrRenew: true when we hold the lease afterwards.
  private async tryAcquireOrRenew(): Promise<boolean> {
    const identity = this.opts.identity;
    const now = this.clock.now();
    const fresh: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    try {
      const current = await this.store.get();
      if (!current) {
        this.observe(await this.store.create(fresh));
        return true;
      }
      if (!this.observed || this.observed.resourceVersion !== current.resourceVersion) this.observe(current);
      const held = current.record;
      // Expiry is judged on the monotonic clock from when this process saw the record change.
      const expiresAt = this.observedTime + held.leaseDurationSeconds * 1000;
      if (held.holderIdentity && held.holderIdentity !== identity && expiresAt > this.clock.monotonicNow()) {
        if (this.leading) void this.stepDown(`lease is held by ${held.holderIdentity}`);
        return false;
      }
      const next: LeaseRecord =
        held.holderIdentity === identity
          ? { ...fresh, acquireTime: held.acquireTime, leaseTransitions: held.leaseTransitions }
          : { ...fresh, leaseTransitions: held.leaseTransitions + 1 };
      this.observe(await this.store.update(next, current.resourceVersion));
      return true;
    } catch (err) {
      if (isConflict(err)) this.logger.debug('lease changed while acquiring or renewing', { error: err });
      else this.logger.warn('error acquiring or renewing the lease', { error: err });
      return false;
    }
  }

  private observe(lease: VersionedLease): void {
    this.observed = lease;
    this.observedTime = this.clock.monotonicNow();
  }

  private withDeadline(attempt: Promise<boolean>, deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), Math.max(0, deadline - this.clock.monotonicNow()));
      void attempt.then((ok) => {
        this.clock.clearTimeout(timer);
        resolve(ok);
      });
    });
  }

  // Resolves once onStoppedLeading settled.
  private stepDown(reason: string): Promise<void> {
    if (!this.leading) return this.stopped;
    this.leading = false;
    this.opts.metrics?.leaderElectionMasterStatus.set({ name: this.opts.name }, 0);
    this.logger.info('stopped leading', { reason });
    this.stopped = Promise.resolve(this.callback(this.opts.onStoppedLeading, 'onStoppedLeading')).catch((err: unknown) =>
      this.logger.error('onStoppedLeading failed', { error: err }),
    );
    return this.stopped;
  }

  private callback(fn: () => void | Promise<void>, which: string): void | Promise<void> {
    try {
      return fn();
    } catch (err) {
      this.logger.error(`${which} threw`, { error: err });
    }
  }
}
