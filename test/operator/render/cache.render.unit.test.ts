import { expect } from 'chai';
import {
  maxMemoryFor,
  renderRedisClusterJob,
  renderRedisPdb,
  renderRedisStatefulSet,
} from '../../../operator/render/cache.render.js';
import { renderApiConfigMap } from '../../../operator/render/config.render.js';
import { app, ctx, plan, resolved, render } from './helpers.js';

describe('cache.render', () => {
  it('renders no Redis object at all when the cache is disabled', () => {
    const names = render(app({ users: 100000, cache: { enabled: false } }), ctx()).map(
      (o) => o.metadata?.name ?? '',
    );
    expect(names.filter((n) => n.includes('redis'))).to.deep.equal([]);
    expect(
      renderApiConfigMap(plan(app({ users: 100000, cache: { enabled: false } }))).data?.GRAMINSTA_REDIS_MODE,
    ).to.equal('none');
  });

  it('renders a standalone Redis for one shard, without PDB or forming Job', () => {
    const a = app({ users: 10, cache: { enabled: true, shards: 1 } });
    expect(renderRedisStatefulSet(resolved(a, ctx()))?.spec?.replicas).to.equal(1);
    expect(renderRedisPdb(plan(a))).to.equal(null);
    expect(renderRedisClusterJob(resolved(a, ctx()))).to.equal(null);
    expect(renderApiConfigMap(plan(a)).data).to.include({
      GRAMINSTA_REDIS_MODE: 'standalone',
      GRAMINSTA_REDIS_NODES: 'graminsta-redis.photos.svc:6379',
    });
  });

  it('gives each Redis node a 256Mi volume on the default class, or the size and class of spec.cache.storage', () => {
    const claim = (a: ReturnType<typeof app>) => renderRedisStatefulSet(resolved(a, ctx()))!.spec!.volumeClaimTemplates![0]!.spec!;
    const plain = claim(app({ users: 100000 }));
    expect(plain.resources?.requests?.storage).to.equal('256Mi');
    expect(plain.storageClassName).to.equal(undefined);
    const chosen = claim(app({ users: 100000, cache: { storage: { size: '1Gi', storageClassName: 'fast-local' } } }));
    expect(chosen.resources?.requests?.storage).to.equal('1Gi');
    expect(chosen.storageClassName).to.equal('fast-local');
  });

  it('renders shards x (1 + replicasPerShard) cluster nodes and a forming Job named after the topology', () => {
    const a = app({ users: 100000, cache: { shards: 3, replicasPerShard: 2 } });
    const sts = renderRedisStatefulSet(resolved(a, ctx()))!;
    expect(sts.spec?.replicas).to.equal(9);
    const job = renderRedisClusterJob(resolved(a, ctx()))!;
    const env = Object.fromEntries(
      job.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]),
    );
    expect(env.REDIS_CLUSTER_REPLICAS).to.equal('2');
    expect(env.REDIS_CLUSTER_NODES!.split(',')).to.have.length(9);
    expect(job.spec?.template.metadata?.labels?.['app.kubernetes.io/component']).to.equal('cache-init');
    const other = renderRedisClusterJob(resolved(
      app({ users: 100000, cache: { shards: 4, replicasPerShard: 2 } }),
      ctx(),
    ))!;
    expect(other.metadata?.name).to.not.equal(job.metadata?.name);
    expect(renderRedisClusterJob(resolved(a, ctx()))?.metadata?.name).to.equal(job.metadata?.name);
  });

  it('rejects two shards, naming the field', () => {
    expect(() => render(app({ users: 100000, cache: { shards: 2 } }), ctx())).to.throw(
      /spec\.cache\.shards/,
    );
  });

  it('derives maxmemory from the memory limit', () => {
    expect(maxMemoryFor('256Mi')).to.equal('192mb');
    expect(maxMemoryFor('1Gi')).to.equal('768mb');
    expect(maxMemoryFor(undefined)).to.equal(null);
    expect(maxMemoryFor('1G')).to.equal(null);
  });
});
