import { expect } from 'chai';
import { DEFAULT_IMAGES } from '../../../operator/api/images.api.js';
import type { GraminstaApp } from '../../../operator/api/types.gen.js';
import { renderApp } from '../../../operator/render/app.render.js';
import { planOf } from '../../../operator/render/plan.render.js';
import { app, ctx, IMAGES } from './helpers.js';

/** The app behind a Proxy that counts how often its spec is read. */
function counted(a: GraminstaApp): { app: GraminstaApp; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(a, {
    get(target, key, receiver) {
      if (key === 'spec') reads++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { app: proxy, reads: () => reads };
}

describe('plan.render planOf', () => {
  it('is derived once per render: rendering reads the app only through the one plan', () => {
    const one = counted(app({ users: 100000 }));
    planOf(one.app, IMAGES);
    const perDerivation = one.reads();
    expect(perDerivation).to.be.greaterThan(0);

    const rendered = counted(app({ users: 100000 }));
    const plan = planOf(rendered.app, IMAGES);
    const objects = renderApp(plan, ctx());
    expect(objects.length).to.be.greaterThan(20);
    expect(rendered.reads(), 'reads of spec for one plan and one render').to.equal(perDerivation);
  });

  it('resolves every image once: the spec wins over the settings, {version} becomes the Postgres major', () => {
    const settings = { service: 's/svc:1', postgres: 'r/pg:{version}-x', redis: 'r/redis:1' };
    expect(planOf(app({ users: 100000, database: { version: '17' } }), settings).images).to.deep.equal({
      service: 's/svc:1',
      postgres: 'r/pg:17-x',
      redis: 'r/redis:1',
    });
    const digest = `sha256:${'d'.repeat(64)}`;
    const pinned = planOf(
      app({ users: 100000, image: `a/svc@${digest}`, database: { image: 'a/pg:16' }, cache: { image: 'a/redis:7' } }),
      settings,
    );
    expect(pinned.images).to.deep.equal({ service: `a/svc@${digest}`, postgres: 'a/pg:16', redis: 'a/redis:7' });
    expect(planOf(app({ users: 1 }), DEFAULT_IMAGES).images).to.deep.equal({
      service: DEFAULT_IMAGES.service,
      postgres: 'docker.io/library/postgres:16-bookworm',
      redis: null,
    });
    expect(planOf(app({ database: { external: { secretName: 'rds' } } }), DEFAULT_IMAGES).images.postgres).to.equal(null);
  });

  it('counts the Redis nodes and lists their seeds once', () => {
    const cluster = planOf(app({ users: 100000, cache: { shards: 3, replicasPerShard: 2 } }), IMAGES).cache!;
    expect(cluster.nodeCount).to.equal(9);
    expect(cluster.nodes.split(',')).to.have.length(9);
    expect(cluster.nodes.split(',')[0]).to.equal('graminsta-redis-0.graminsta-redis-headless.photos.svc:6379');
    const standalone = planOf(app({ cache: { shards: 1 } }), IMAGES).cache!;
    expect(standalone).to.include({ nodeCount: 1, nodes: 'graminsta-redis-standalone.photos.svc:6379' });
  });

  it('names where images are stored with the service env words: volume in the single pod, else origin or s3', () => {
    expect(planOf(app({ users: 1 }), IMAGES).storage.kind).to.equal('volume');
    expect(planOf(app({ users: 10 }), IMAGES).storage).to.deep.equal({ kind: 'origin', size: '5Gi' });
    expect(planOf(app({ cdn: { origin: { s3: { bucket: 'b' } } } }), IMAGES).storage).to.deep.equal({
      kind: 's3',
      s3: { bucket: 'b', region: 'us-east-1' },
    });
  });

  it('rejects TLS without any host, naming the field', () => {
    expect(() => planOf(app({ ingress: { tls: { secretName: 't' } } }), IMAGES)).to.throw(/spec\.ingress\.tls/);
  });
});

describe('planOf: where the origin and Redis volumes go', () => {
  it("uses the database volume's class when the spec names none for the origin or Redis, before cdn and at cdn", () => {
    const db = { storage: { storageClassName: 'fast-local' } };
    expect(planOf(app({ users: 10, database: db }), IMAGES).storage).to.deep.equal({ kind: 'origin', size: '5Gi', storageClassName: 'fast-local' });
    expect(planOf(app({ users: 10000, database: db }), IMAGES).storage).to.include({ kind: 'origin', storageClassName: 'fast-local' });
    expect(planOf(app({ users: 10000, database: db, cdn: { origin: { volume: { storageClassName: 'bulk' } } } }), IMAGES).storage).to.include({ storageClassName: 'bulk' });
    expect(planOf(app({ users: 10 }), IMAGES).storage).to.deep.equal({ kind: 'origin', size: '5Gi' });
    expect(planOf(app({ users: 100000, database: db }), IMAGES).cache?.storage).to.include({ storageClassName: 'fast-local' });
    expect(planOf(app({ users: 100000, database: db, cache: { storage: { storageClassName: 'mem' } } }), IMAGES).cache?.storage).to.include({ storageClassName: 'mem' });
  });

  it('records a move of the photos when status.imageStore names another store than the plan', () => {
    const moving = planOf({ ...app({ users: 10 }), status: { imageStore: { kind: 'volume' } } }, IMAGES);
    expect(moving.imageMove).to.deep.equal({ from: { kind: 'volume' }, to: { kind: 'origin' } });
    expect(planOf({ ...app({ users: 10 }), status: { imageStore: { kind: 'origin' } } }, IMAGES).imageMove).to.equal(null);
    expect(planOf(app({ users: 10 }), IMAGES).imageMove, 'nothing recorded yet: nothing to move').to.equal(null);
  });
});
