// The near cache store: expiry, capacity, and refusing fills that raced an eviction.
import { expect } from 'chai';
import { NearCache } from '../../../service/cache/near-cache.js';

describe('NearCache', () => {
  let t = 0;
  const cache = () => new NearCache<string>(3, () => t);
  beforeEach(() => (t = 1000));

  it('returns a value until its expiry, then forgets it', () => {
    const c = cache();
    expect(c.set(1, 'a', 1500, c.epoch)).to.equal(true);
    t = 1499;
    expect(c.get(1)).to.equal('a');
    t = 1500;
    expect(c.get(1)).to.equal(undefined);
    expect(c.size).to.equal(0);
  });

  it('refuses a fill that started before an eviction of any id', () => {
    const c = cache();
    const epoch = c.epoch;
    c.delete(7);
    expect(c.set(1, 'old', 2000, epoch)).to.equal(false);
    expect(c.get(1)).to.equal(undefined);
    expect(c.set(1, 'new', 2000, c.epoch)).to.equal(true);
  });

  it('refuses an already expired value', () => {
    const c = cache();
    expect(c.set(1, 'a', 1000, c.epoch)).to.equal(false);
  });

  it('drops the oldest entry when full, and clear() drops all and bumps the epoch', () => {
    const c = cache();
    for (const id of [1, 2, 3, 4]) c.set(id, `v${id}`, 5000, c.epoch);
    expect([1, 2, 3, 4].map((id) => c.get(id))).to.deep.equal([undefined, 'v2', 'v3', 'v4']);
    const epoch = c.epoch;
    const deleted = c.deleted;
    c.clear();
    expect(c.size).to.equal(0);
    expect(c.epoch).to.equal(epoch + 1);
    expect(c.deleted, 'a reset is not a deletion').to.equal(deleted);
    c.delete(2);
    expect(c.deleted).to.equal(deleted + 1);
  });
});
