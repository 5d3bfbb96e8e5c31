import { expect } from 'chai';
import { StringPool } from '../../../operator/kube/string-pool.kube.js';

// Equal strings compare equal whatever their copy, so what the pool holds (its size) is what these tests check; the
// memory it saves is a bench figure (docs/benchmarks.md), not a test's.
const long = (seed: string, n = 300) => Array.from({ length: n }, (_, i) => seed[i % seed.length]).join('');

describe('StringPool', () => {
  it('returns the first copy of a long string for every later equal one, and leaves short strings alone', () => {
    const pool = new StringPool(256, 10);
    const first = long('abc');
    expect(pool.string(first)).to.equal(first);
    expect(pool.string(long('abc'))).to.equal(first);
    expect(pool.size).to.equal(1);
    expect(pool.string('short')).to.equal('short');
    expect(pool.size).to.equal(1);
  });

  it('interns the long string values of nested objects and arrays in place, keeping everything else', () => {
    const pool = new StringPool(256, 10);
    const script = long('#!/bin/sh\n');
    const a = { metadata: { name: 'a-scripts' }, data: { 'x.sh': script, n: 1, flag: true, none: null }, list: [script, 'b', { deep: script }] };
    const b = JSON.parse(JSON.stringify(a)) as typeof a;
    pool.intern(a);
    expect(pool.intern(b)).to.equal(b);
    expect(b).to.deep.equal(a);
    expect(pool.size).to.equal(1);
  });

  it('forgets its oldest string beyond maxEntries', () => {
    const pool = new StringPool(256, 2);
    pool.string(long('a'));
    pool.string(long('b'));
    pool.string(long('c'));
    expect(pool.size).to.equal(2);
  });

  it('refuses bad limits, naming them', () => {
    expect(() => new StringPool(0)).to.throw(/minLength must be >= 1/);
    expect(() => new StringPool(256, 0)).to.throw(/maxEntries must be >= 1/);
  });
});
