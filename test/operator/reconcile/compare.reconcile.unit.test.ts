import { expect } from 'chai';
import { firstDifference, parseQuantity } from '../../../operator/reconcile/compare.reconcile.js';

describe('compare.reconcile', () => {
  describe('parseQuantity', () => {
    const cases: [string, number | undefined][] = [
      ['1', 1],
      ['1000m', 1],
      ['250m', 0.25],
      ['1Gi', 2 ** 30],
      ['1024Mi', 2 ** 30],
      ['1k', 1000],
      ['1.5G', 1.5e9],
      ['abc', undefined],
      ['10Xi', undefined],
    ];
    for (const [input, want] of cases) {
      it(`parses ${input}`, () => expect(parseQuantity(input)).to.equal(want));
    }
  });

  describe('firstDifference', () => {
    it('reads a field under the name client-node\'s models give it (NetworkPolicy rules: from is _from)', () => {
      const peers = [{ podSelector: { matchLabels: { a: 'b' } } }];
      expect(firstDifference({ ingress: [{ from: peers }] }, { ingress: [{ _from: peers }] })).to.equal(null);
      expect(firstDifference({ ingress: [{ from: peers }] }, { ingress: [{ from: peers }] })).to.equal(null);
      expect(firstDifference({ ingress: [{ from: peers }] }, { ingress: [{ _from: [] }] })).to.equal('.ingress[0].from');
      expect(firstDifference({ ingress: [{ from: peers }] }, { ingress: [{}] })).to.equal('.ingress[0].from');
    });

    it('accepts a live object that carries everything wanted plus server defaults', () => {
      const want = { spec: { replicas: 2, template: { spec: { containers: [{ name: 'api', image: 'x:1' }] } } } };
      const have = {
        metadata: { resourceVersion: '7', managedFields: [] },
        spec: { replicas: 2, revisionHistoryLimit: 10, template: { spec: { containers: [{ name: 'api', image: 'x:1', imagePullPolicy: 'IfNotPresent' }], dnsPolicy: 'ClusterFirst' } } },
        status: { readyReplicas: 2 },
      };
      expect(firstDifference(want, have)).to.equal(null);
    });

    it('names the path of a changed scalar', () => {
      expect(firstDifference({ spec: { replicas: 3 } }, { spec: { replicas: 2 } })).to.equal('.spec.replicas');
    });

    it('names the path inside a list', () => {
      const want = { c: [{ name: 'a', image: 'x:2' }] };
      const have = { c: [{ name: 'a', image: 'x:1' }] };
      expect(firstDifference(want, have)).to.equal('.c[0].image');
    });

    it('treats a list of another length as different', () => {
      expect(firstDifference({ ports: [{ port: 80 }] }, { ports: [{ port: 80 }, { port: 443 }] })).to.equal('.ports');
    });

    it('treats a missing field as different', () => {
      expect(firstDifference({ metadata: { labels: { a: 'b' } } }, { metadata: {} })).to.equal('.metadata.labels');
      expect(firstDifference({ metadata: { labels: { a: 'b' } } }, { metadata: { labels: { c: 'd' } } })).to.equal('.metadata.labels.a');
    });

    it('compares quantities by value', () => {
      expect(firstDifference({ cpu: '1000m', memory: '1024Mi' }, { cpu: '1', memory: '1Gi' })).to.equal(null);
      expect(firstDifference({ cpu: '500m' }, { cpu: '1' })).to.equal('.cpu');
    });

    it('compares int-or-string values', () => {
      expect(firstDifference({ targetPort: 8080 }, { targetPort: '8080' })).to.equal(null);
      expect(firstDifference({ maxUnavailable: 1 }, { maxUnavailable: '25%' })).to.equal('.maxUnavailable');
    });

    it('asks nothing of an empty wanted value', () => {
      expect(firstDifference({ emptyDir: {} }, { emptyDir: { sizeLimit: '1Gi' } })).to.equal(null);
    });

    it('does not confuse booleans and strings', () => {
      expect(firstDifference({ a: true }, { a: 'true' })).to.equal('.a');
    });
  });
});
