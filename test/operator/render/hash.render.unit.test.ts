import { expect } from 'chai';
import { fnv1a64, hashOf, stableStringify } from '../../../operator/render/hash.render.js';

describe('hash.render', () => {
  it('computes FNV-1a 64 (published test vectors)', () => {
    expect(fnv1a64('')).to.equal('cbf29ce484222325');
    expect(fnv1a64('a')).to.equal('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).to.equal('85944171f73967e8');
  });

  it('hashes values independently of key order, and differently when a value changes', () => {
    expect(stableStringify({ b: 1, a: { d: [1, 2], c: 'x' } })).to.equal('{"a":{"c":"x","d":[1,2]},"b":1}');
    expect(hashOf({ a: 1, b: 2 })).to.equal(hashOf({ b: 2, a: 1 }));
    expect(hashOf({ a: 1, b: 2 })).to.not.equal(hashOf({ a: 1, b: 3 }));
  });
});
