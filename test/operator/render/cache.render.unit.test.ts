import { expect } from 'chai';
import {
  maxMemoryFor,
  renderRedisClusterJob,
  renderRedisCopyJob,
  renderRedisPdb,
  renderRedisService,
  renderRedisStatefulSet,
} from '../../../operator/render/cache.render.js';
import { renderApiConfigMap } from '../../../operator/render/config.render.js';
import { renderScriptsConfigMap } from '../../../operator/render/scripts-configmap.render.js';
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
      GRAMINSTA_REDIS_NODES: 'graminsta-redis-standalone.photos.svc:6379',
    });
  });

  it('names a standalone after its mode (its own StatefulSet, Service and component), so a cluster can run beside it while keys move', () => {
    const a = app({ users: 10, cache: { enabled: true, shards: 1 } });
    const sts = renderRedisStatefulSet(resolved(a, ctx()))!;
    expect(sts.metadata?.name).to.equal('graminsta-redis-standalone');
    expect(sts.spec?.selector?.matchLabels?.['app.kubernetes.io/component']).to.equal('cache-standalone');
    const svc = renderRedisService(plan(a))!;
    expect(svc.metadata?.name).to.equal('graminsta-redis-standalone');
    expect(svc.spec?.selector?.['app.kubernetes.io/component']).to.equal('cache-standalone');
    const cluster = plan(app({ users: 100000 }));
    expect(renderRedisService(cluster)!.spec?.selector?.['app.kubernetes.io/component']).to.equal('cache');
  });

  it('renders the copy Job of a mode change only for a change: import into a cluster, export into a standalone, named after its env', () => {
    const cluster = plan(app({ users: 100000 }));
    const standalone = plan(app({ users: 100000, cache: { shards: 1 } }));
    expect(renderRedisCopyJob(cluster, null)).to.equal(null);
    expect(renderRedisCopyJob(cluster, 'cluster')).to.equal(null);
    const env = (j: ReturnType<typeof renderRedisCopyJob>) => j!.spec!.template.spec!.containers[0]!.env!;
    const into = renderRedisCopyJob(cluster, 'standalone')!;
    expect(into.spec!.template.spec!.containers[0]!.command!.join(' ')).to.include('redis-cluster-form.sh');
    expect(env(into)).to.deep.include({ name: 'REDIS_IMPORT_FROM', value: 'graminsta-redis-standalone.photos.svc:6379' });
    const out = renderRedisCopyJob(standalone, 'cluster')!;
    expect(out.spec!.template.spec!.containers[0]!.command!.join(' ')).to.include('redis-cluster-export.sh');
    expect(env(out)).to.deep.include({ name: 'REDIS_EXPORT_TO', value: 'graminsta-redis-standalone.photos.svc:6379' });
    expect(out.metadata!.name).to.match(/^graminsta-redis-copy-[0-9a-f]{10}$/).and.to.not.equal(into.metadata!.name);
    expect(renderRedisCopyJob(standalone, 'cluster')!.metadata!.name, 'stable').to.equal(out.metadata!.name);
    expect(renderScriptsConfigMap(standalone)!.data).to.have.property('redis-cluster-export.sh');
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
