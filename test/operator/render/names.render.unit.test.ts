import { expect } from 'chai';
import { appNames, labels, selectorLabels } from '../../../operator/render/names.render.js';
import { app } from './helpers.js';

describe('names.render', () => {
  it('labels follow app.kubernetes.io conventions and contain the selector labels', () => {
    const l = labels(appNames(app()), 'database-replica');
    expect(l).to.deep.equal({
      'app.kubernetes.io/name': 'graminsta',
      'app.kubernetes.io/instance': 'graminsta',
      'app.kubernetes.io/component': 'database-replica',
      'app.kubernetes.io/part-of': 'graminsta',
      'app.kubernetes.io/managed-by': 'graminsta-operator',
    });
    const s = selectorLabels(appNames(app()), 'database-replica');
    for (const [k, v] of Object.entries(s)) expect(l[k]).to.equal(v);
    expect(Object.keys(s)).to.have.length(3);
  });

  it('selector labels do not depend on the spec (they must never change)', () => {
    expect(selectorLabels(appNames(app({ users: 1 })), 'api')).to.deep.equal(
      selectorLabels(appNames(app({ users: 100000, image: 'x' })), 'api'),
    );
  });

  it('names the Services as documented', () => {
    const n = appNames(app({}, 'shop'));
    expect([n.api, n.web, n.databaseRw, n.databaseRo, n.redis, n.origin]).to.deep.equal([
      'shop-api',
      'shop-web',
      'shop-db-rw',
      'shop-db-ro',
      'shop-redis',
      'shop-origin',
    ]);
  });

  it('keeps every child name a DNS label for the longest allowed app name', () => {
    const n = appNames(app({}, 'a'.repeat(40)));
    for (const value of Object.values(n)) expect(value.length, value).to.be.at.most(63);
    // A StatefulSet's pods carry controller-revision-hash=<name>-<10 characters>, a label value of at most 63.
    for (const sts of [n.database, n.databaseReplica, n.redis, n.origin])
      expect(sts.length, sts).to.be.at.most(52);
    // Jobs are named <prefix><10 hex digits>.
    for (const prefix of [n.migratePrefix, n.redisInitPrefix])
      expect(prefix.length + 10, prefix).to.be.at.most(63);
  });

  it('rejects names the CRD would reject, naming the field', () => {
    expect(() => appNames(app({}, 'a'.repeat(41)))).to.throw(/metadata\.name/);
    expect(() => appNames(app({}, 'Bad_Name'))).to.throw(/metadata\.name/);
    expect(() => appNames({ ...app(), metadata: { name: 'x' } })).to.throw(/metadata\.namespace/);
  });
});
