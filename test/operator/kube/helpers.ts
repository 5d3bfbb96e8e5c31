// Test helpers shared by the kube/ unit and integration tests.
import { KubeConfig } from '@kubernetes/client-node';
import type { LeaseRecord, LeaseStore } from '../../../operator/kube/leader-election.kube.js';

/** A KubeConfig pointing at a port nothing listens on, for tests whose transport is faked. */
export function offlineKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

/** One candidate's view of a Lease store, which a test can cut off as if its process hung or its network were partitioned. */
export class CuttableLeaseStore implements LeaseStore {
  cutOff = false;
  constructor(private readonly inner: LeaseStore) {}
  describe() {
    return this.inner.describe();
  }
  private check() {
    if (this.cutOff) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  }
  async get() {
    this.check();
    return this.inner.get();
  }
  async create(r: LeaseRecord) {
    this.check();
    return this.inner.create(r);
  }
  async update(r: LeaseRecord, rv: string) {
    this.check();
    return this.inner.update(r, rv);
  }
}
