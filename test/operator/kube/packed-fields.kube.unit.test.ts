import { expect } from 'chai';
import { DEFAULT_MIN_PACKED_LENGTH, isPacked, packFields } from '../../../operator/kube/packed-fields.kube.js';

// A StatefulSet-like object whose spec is long enough to be packed.
const big = () => ({
  kind: 'StatefulSet',
  metadata: { name: 'app-db', namespace: 'photos' },
  spec: {
    replicas: 1,
    template: { spec: { containers: Array.from({ length: 20 }, (_, i) => ({ name: `c${i}`, image: 'postgres:16', args: ['-c', `shared_buffers=${i}MB`.repeat(10)] })) } },
  },
  status: { readyReplicas: 1 },
});

describe('packFields', () => {
  it('keeps a long field packed and returns a value equal to the original on every read', () => {
    const original = big();
    const obj = packFields(big(), ['spec', 'data']);
    expect(JSON.stringify(original.spec).length).to.be.at.least(DEFAULT_MIN_PACKED_LENGTH);
    expect(isPacked(obj, 'spec')).to.equal(true);
    expect(isPacked(obj, 'data')).to.equal(false);
    expect(obj.spec).to.deep.equal(original.spec);
    expect(obj.status).to.equal(obj.status);
    expect(JSON.parse(JSON.stringify(obj))).to.deep.equal(original);
    expect({ ...obj }).to.deep.equal(original);
  });

  it('hands out a fresh copy each time, so a reader that changes its copy does not change the cache', () => {
    const obj = packFields(big(), ['spec']);
    const copy = obj.spec;
    copy.replicas = 5;
    expect(obj.spec.replicas).to.equal(1);
    expect(obj.spec).not.to.equal(obj.spec);
  });

  it('leaves short fields, scalars and absent fields as they are', () => {
    const obj = packFields({ spec: { replicas: 1 }, data: 'x'.repeat(5000), status: null }, ['spec', 'data', 'status', 'missing']);
    for (const field of ['spec', 'data', 'status', 'missing']) expect(isPacked(obj, field), field).to.equal(false);
    expect(obj).to.deep.equal({ spec: { replicas: 1 }, data: 'x'.repeat(5000), status: null });
  });

  it('stores an assigned value as a plain field again', () => {
    const obj = packFields(big(), ['spec']);
    obj.spec = { replicas: 2 } as ReturnType<typeof big>['spec'];
    expect(isPacked(obj, 'spec')).to.equal(false);
    expect(obj.spec).to.deep.equal({ replicas: 2 });
  });

  it('packs at the length given and refuses one below 1', () => {
    expect(isPacked(packFields({ spec: { a: 'abc' } }, ['spec'], 5), 'spec')).to.equal(true);
    expect(() => packFields({}, ['spec'], 0)).to.throw('packFields: minLength must be >= 1 (got 0)');
  });
});
