// The reconciler's orchestration on in-memory fakes of its interfaces (caches, cluster client, events):
// apply order, the migrate Job gate, prune rules, paused apps, zero writes at rest. The same behaviour
// against the real API server is covered by app.reconcile.int.test.ts.
import { expect } from 'chai';
import type { KubernetesObject, V1Deployment, V1PersistentVolumeClaim, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { GraminstaApp, GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import type { Clock } from '../../../operator/kube/clock.kube.js';
import { nopLogger } from '../../../operator/kube/logger.kube.js';
import {
  AppReconciler,
  type ClusterClient,
  type ObjectCache,
} from '../../../operator/reconcile/app.reconcile.js';
import { childKinds } from '../../../operator/reconcile/children.reconcile.js';
import type { AppStatus } from '../../../operator/reconcile/status.reconcile.js';
import { IMAGES } from '../render/helpers.js';
import { CONFIG_HASH_ANNOTATION } from '../../../operator/render/names.render.js';

const NS = 'photos';
const UID = 'uid-1';

class MemoryCache<T extends KubernetesObject = KubernetesObject> implements ObjectCache<T> {
  readonly items = new Map<string, T>();
  get(name: string, namespace?: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
  }
  list(namespace?: string): ReadonlyArray<T> {
    return [...this.items.values()].filter((o) => !namespace || o.metadata?.namespace === namespace);
  }
  put(obj: T): void {
    this.items.set(`${obj.metadata?.namespace}/${obj.metadata?.name}`, obj);
  }
}

/** The API server as the reconciler sees it: every write is recorded and lands in the kind's cache at once. */
class FakeCluster implements ClusterClient {
  readonly calls: string[] = [];
  readonly statuses: AppStatus[] = [];
  constructor(private readonly caches: Map<string, MemoryCache>) {}
  private cache(kind: string | undefined): MemoryCache {
    return this.caches.get(kind ?? '')!;
  }
  /** Deployments whose spec.replicas another field manager holds (handOverReplicas): an apply without the field keeps it. */
  private readonly handedOver = new Set<string>();
  async apply(obj: KubernetesObject) {
    this.calls.push(`apply ${obj.kind}/${obj.metadata?.name}`);
    const live = JSON.parse(JSON.stringify(obj)) as KubernetesObject & { spec?: { replicas?: number } };
    if (obj.kind === 'Deployment' && live.spec && live.spec.replicas === undefined) {
      // As the API server: a field no manager owns any more is reset to its default.
      const before = this.cache('Deployment').get(obj.metadata!.name!, obj.metadata!.namespace) as typeof live | undefined;
      live.spec.replicas = this.handedOver.has(obj.metadata!.name!) ? (before?.spec?.replicas ?? 1) : 1;
    }
    this.cache(obj.kind).put(live);
    return live;
  }
  async create(obj: KubernetesObject) {
    this.calls.push(`create ${obj.kind}/${obj.metadata?.name}`);
    if (this.cache(obj.kind).get(obj.metadata!.name!, obj.metadata!.namespace)) throw Object.assign(new Error('exists'), { code: 409 });
    const { stringData, ...rest } = obj as KubernetesObject & { stringData?: Record<string, string>; data?: Record<string, string> };
    const data = { ...rest.data, ...Object.fromEntries(Object.entries(stringData ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) };
    const live = { ...rest, data } as KubernetesObject;
    this.cache(obj.kind).put(live);
    return live;
  }
  /** StorageClasses, which no informer caches: by name. */
  readonly storageClasses = new Map<string, KubernetesObject>();
  /** The claims' informer cache (the operator only watches and expands claims). */
  readonly claims = new MemoryCache<V1PersistentVolumeClaim>();
  async read(_apiVersion: string, kind: string, namespace: string, name: string) {
    this.calls.push(`read ${kind}/${name}`);
    if (kind === 'StorageClass') return this.storageClasses.get(name);
    // A claim is never read from the API server: the reconciler has their cache.
    if (kind === 'PersistentVolumeClaim') throw new Error(`uncached read of PersistentVolumeClaim ${namespace}/${name}`);
    return this.cache(kind).get(name, namespace);
  }
  async delete(obj: KubernetesObject) {
    this.calls.push(`delete ${obj.kind}/${obj.metadata?.name}`);
    this.cache(obj.kind).items.delete(`${obj.metadata?.namespace}/${obj.metadata?.name}`);
  }
  async handOverReplicas(obj: KubernetesObject) {
    this.calls.push(`handover ${obj.kind}/${obj.metadata?.name}`);
    this.handedOver.add(obj.metadata!.name!);
  }
  async patchStatus(_app: GraminstaApp, status: AppStatus) {
    this.calls.push('status');
    this.statuses.push(JSON.parse(JSON.stringify(status)) as AppStatus);
  }
  async expandClaim(namespace: string, name: string, size: string) {
    this.calls.push(`expand PersistentVolumeClaim/${name} ${size}`);
    const pvc = this.claims.get(name, namespace)!;
    pvc.spec!.resources!.requests!.storage = size;
  }
  writes(): string[] {
    return this.calls.filter((c) => !c.startsWith('read'));
  }
}

let nowMs = Date.UTC(2026, 11, 1);
const clock: Clock = { now: () => nowMs, monotonicNow: () => 0, setTimeout: () => undefined, clearTimeout: () => undefined };

function setup(spec: GraminstaAppSpec) {
  const apps = new MemoryCache<GraminstaApp>();
  const caches = new Map(childKinds.map((k) => [k.kind, new MemoryCache()]));
  const cluster = new FakeCluster(caches);
  // A status write lands on the app in the cache, as its watch event would bring it.
  const patchStatus = cluster.patchStatus.bind(cluster);
  cluster.patchStatus = async (target, status) => {
    await patchStatus(target, status);
    const current = apps.get(target.metadata.name!, target.metadata.namespace);
    if (current) current.status = JSON.parse(JSON.stringify(status)) as GraminstaApp['status'];
  };
  const events: string[] = [];
  let passwords = 0;
  const reconciler = new AppReconciler({
    apps,
    children: (kind) => caches.get(kind)!,
    claims: cluster.claims,
    cluster,
    events: { record: (_app, type, reason) => events.push(`${type} ${reason}`) },
    logger: nopLogger,
    clock,
    images: IMAGES,
    generatePassword: () => `pw-${++passwords}`,
  });
  const app: GraminstaApp = {
    apiVersion: 'graminsta.io/v1alpha1',
    kind: 'GraminstaApp',
    metadata: { name: 'graminsta', namespace: NS, uid: UID, generation: 1 },
    spec,
  };
  apps.put(app);
  const setSpec = (next: GraminstaAppSpec) => {
    const current = apps.get(app.metadata.name!, NS)!;
    apps.put({ ...current, spec: next, metadata: { ...current.metadata, generation: (current.metadata.generation ?? 1) + 1 } });
  };
  const completeJobs = () => {
    for (const job of caches.get('Job')!.list(NS)) (job as { status?: object }).status = { succeeded: 1 };
  };
  /** What the workload controllers would do: every Deployment and StatefulSet rolls out its latest spec with all pods ready. */
  const rollOut = () => {
    for (const kind of ['Deployment', 'StatefulSet']) {
      for (const w of caches.get(kind)!.list(NS) as (KubernetesObject & { spec?: { replicas?: number }; status?: object })[]) {
        const replicas = w.spec?.replicas ?? 1;
        w.metadata = { ...w.metadata, generation: w.metadata?.generation ?? 1 };
        w.status = { observedGeneration: w.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas };
      }
    }
  };
  const reconcile = () => reconciler.reconcile(`${NS}/graminsta`);
  /** Reconciles until the app waits for nothing, completing Jobs and rollouts between passes and letting switches settle. */
  const settle = async () => {
    for (let i = 0; i < 12; i++) {
      completeJobs();
      rollOut();
      const result = await reconcile();
      const reconciling = cluster.statuses.at(-1)?.conditions.find((c) => c.type === 'Reconciling');
      // Settled: nothing to look at again but the certificates' renewal, hours away.
      if ((!result || (result.requeueAfterMs ?? 0) >= 3_600_000) && reconciling?.status === 'False') return;
      nowMs += 20_000;
    }
    throw new Error(`the app did not settle in 12 passes: ${JSON.stringify(cluster.statuses.at(-1)?.conditions.filter((c) => c.status !== 'True' || c.type === 'Reconciling'))}`);
  };
  return { apps, caches, cluster, events, reconcile, settle, rollOut, setSpec, completeJobs, passwords: () => passwords };
}

/** Reconcile passes with every Job completed and every rollout done before each (HPA-scaled apps never settle in the fakes). */
async function passes(t: ReturnType<typeof setup>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    t.completeJobs();
    t.rollOut();
    await t.reconcile();
  }
}

const rank = (call: string) => {
  const kind = call.split(' ')[1]!.split('/')[0]!;
  return childKinds.find((k) => k.kind === kind)!.order;
};

describe('AppReconciler (in-memory fakes)', () => {
  it('applies configuration first, then Services, StatefulSets, Jobs, Deployments, and autoscalers last', async () => {
    const t = setup({ users: 100000 });
    await t.reconcile();
    const applies = t.cluster.calls.filter((c) => c.startsWith('apply'));
    expect(applies.length).to.be.greaterThan(10);
    const ranks = applies.map(rank);
    expect(ranks, applies.join('\n')).to.deep.equal([...ranks].sort((a, b) => a - b));
    // Generated Secrets are created (never applied), before anything that reads them.
    const creates = t.cluster.calls.filter((c) => c.startsWith('create'));
    expect(creates.every((c) => c.startsWith('create Secret/'))).to.equal(true);
    expect(t.cluster.calls.indexOf(creates.at(-1)!)).to.be.lessThan(t.cluster.calls.indexOf(applies[0]!));
    expect(t.events).to.include('Normal SecretsGenerated');
  });

  it('applies the API Deployment only once the migrate Job for its image has succeeded', async () => {
    const t = setup({ users: 10 });
    await t.reconcile();
    const deployments = () => t.cluster.calls.filter((c) => c.startsWith('apply Deployment/'));
    expect(t.cluster.calls.some((c) => /^apply Job\/graminsta-migrate-/.test(c))).to.equal(true);
    expect(deployments()).to.deep.equal([]);
    await t.reconcile();
    expect(deployments(), 'still gated while the Job runs').to.deep.equal([]);
    t.completeJobs();
    await t.reconcile();
    expect(deployments()).to.deep.equal(['apply Deployment/graminsta-api']);

    // A new image names a new Job: the Deployment waits again and keeps running the old image meanwhile.
    t.setSpec({ users: 10, image: 'registry.example/graminsta:v2' });
    await t.reconcile();
    expect(deployments()).to.have.length(1);
    t.completeJobs();
    await t.reconcile();
    expect(deployments()).to.have.length(2);
    const api = t.caches.get('Deployment')!.get('graminsta-api', NS) as { spec: { template: { spec: { containers: { image: string }[] } } } };
    expect(api.spec.template.spec.containers[0]!.image).to.equal('registry.example/graminsta:v2');
  });

  describe('Redis Cluster size changes', () => {
    const redis = (t: ReturnType<typeof setup>) => t.caches.get('StatefulSet')!.get('graminsta-redis', NS) as V1StatefulSet;
    const formJobs = (t: ReturnType<typeof setup>) => t.caches.get('Job')!.list(NS).filter((j) => j.metadata!.name!.startsWith('graminsta-redis-init-'));
    const cacheReady = (t: ReturnType<typeof setup>) => t.cluster.statuses.at(-1)!.conditions.find((c) => c.type === 'CacheReady')!;

    it('shrinks 6 -> 3 shards: the form Job moves the slots first, the StatefulSet loses its nodes only once it succeeded; status says Resharding meanwhile', async () => {
      const t = setup({ users: 100000, cache: { shards: 6 } });
      await passes(t, 6);
      expect(redis(t).spec!.replicas).to.equal(12);
      expect(t.cluster.statuses.at(-1)!.cache).to.deep.include({ shards: 6, replicasPerShard: 1 });

      t.setSpec({ users: 100000, cache: { shards: 3 } });
      t.rollOut();
      await t.reconcile();
      const job = formJobs(t).find((j) => !(j as { status?: { succeeded?: number } }).status?.succeeded)!;
      expect(job, 'a form Job for the new shape').to.not.equal(undefined);
      const env = (job as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } }).spec.template.spec.containers[0]!.env;
      expect(env.find((e) => e.name === 'REDIS_CLUSTER_NODES')!.value!.split(',')).to.have.length(6);
      expect(redis(t).spec!.replicas, 'the leaving nodes run while their slots move').to.equal(12);
      expect(cacheReady(t)).to.include({ status: 'False', reason: 'Resharding' });
      expect(t.cluster.statuses.at(-1)!.cache.summary).to.equal('12/6 resharding 6->3');
      await t.reconcile();
      expect(redis(t).spec!.replicas, 'still, while the Job runs').to.equal(12);

      t.completeJobs();
      await t.reconcile();
      expect(redis(t).spec!.replicas, 'scaled down after the Job').to.equal(6);
      await passes(t, 6);
      expect(cacheReady(t)).to.include({ status: 'True' });
      expect(t.cluster.statuses.at(-1)!.cache).to.deep.include({ shards: 3, replicasPerShard: 1, summary: '6/6' });
    });

    it('grows 3 -> 6 shards: the StatefulSet grows first (its pod template unchanged: no node restarts), the form Job follows', async () => {
      const t = setup({ users: 100000 });
      await passes(t, 6);
      const template = JSON.stringify(redis(t).spec!.template);
      t.setSpec({ users: 100000, cache: { shards: 6 } });
      t.rollOut();
      await t.reconcile();
      expect(redis(t).spec!.replicas).to.equal(12);
      expect(JSON.stringify(redis(t).spec!.template), 'the nodes read the wanted nodes from the scripts ConfigMap').to.equal(template);
      const scripts = t.caches.get('ConfigMap')!.get('graminsta-scripts', NS) as { data: Record<string, string> };
      expect(scripts.data['redis-cluster-nodes']!.trim().split('\n')).to.have.length(12);
      expect(formJobs(t).some((j) => !(j as { status?: { succeeded?: number } }).status?.succeeded)).to.equal(true);
      t.rollOut();
      await t.reconcile();
      expect(cacheReady(t)).to.include({ status: 'False', reason: 'Resharding' });
      await passes(t, 6);
      expect(t.cluster.statuses.at(-1)!.cache).to.deep.include({ shards: 6, replicasPerShard: 1, summary: '12/12' });
    });
  });

  describe('Redis mode changes (standalone <-> cluster)', () => {
    type Env = { name: string; value?: string };
    // Fixed replicas: HPA-scaled Deployments never finish rolling out in the fakes, and the old mode goes once all is done.
    const spec = (shards: number): GraminstaAppSpec => ({ users: 100000, api: { replicas: 2 }, web: { replicas: 2 }, cache: { shards } });
    const sts = (t: ReturnType<typeof setup>, name: string) => t.caches.get('StatefulSet')!.get(name, NS) as V1StatefulSet | undefined;
    const job = (t: ReturnType<typeof setup>, prefix: string) => t.caches.get('Job')!.list(NS).find((j) => j.metadata!.name!.startsWith(prefix)) as
      | (KubernetesObject & { spec: { template: { spec: { containers: { command: string[]; env: Env[] }[] } } }; status?: { succeeded?: number } })
      | undefined;
    const apiConfig = (t: ReturnType<typeof setup>) => (t.caches.get('ConfigMap')!.get('graminsta-api-config', NS) as { data: Record<string, string> }).data;
    const cacheReady = (t: ReturnType<typeof setup>) => t.cluster.statuses.at(-1)!.conditions.find((c) => c.type === 'CacheReady')!;
    const succeed = (j: { status?: object } | undefined) => {
      j!.status = { succeeded: 1 };
    };

    it('1 -> 3 shards: the standalone serves until the form Job and then the copy Job ran; the API switches next; the standalone goes last', async () => {
      const t = setup(spec(1));
      await passes(t, 6);
      expect(sts(t, 'graminsta-redis-standalone')!.spec!.replicas).to.equal(1);
      expect(apiConfig(t)).to.include({ GRAMINSTA_REDIS_MODE: 'standalone', GRAMINSTA_REDIS_NODES: 'graminsta-redis-standalone.photos.svc:6379' });

      t.setSpec(spec(3));
      await t.reconcile();
      expect(sts(t, 'graminsta-redis')!.spec!.replicas, 'the cluster starts beside the standalone').to.equal(6);
      expect(sts(t, 'graminsta-redis-standalone'), 'the standalone keeps serving').to.not.equal(undefined);
      expect(job(t, 'graminsta-redis-init-'), 'the form Job').to.not.equal(undefined);
      expect(job(t, 'graminsta-redis-copy-'), 'the copy waits for the form Job').to.equal(undefined);
      expect(apiConfig(t).GRAMINSTA_REDIS_MODE, 'the API stays on the standalone').to.equal('standalone');

      t.rollOut();
      succeed(job(t, 'graminsta-redis-init-'));
      await t.reconcile();
      const copy = job(t, 'graminsta-redis-copy-')!;
      expect(copy.spec.template.spec.containers[0]!.command.join(' ')).to.include('redis-cluster-form.sh');
      expect(copy.spec.template.spec.containers[0]!.env).to.deep.include({ name: 'REDIS_IMPORT_FROM', value: 'graminsta-redis-standalone.photos.svc:6379' });
      expect(apiConfig(t).GRAMINSTA_REDIS_MODE, 'not before the keys are copied').to.equal('standalone');
      expect(cacheReady(t)).to.include({ status: 'False', reason: 'Resharding' });
      expect(cacheReady(t).message).to.include('copying the keys from a standalone node to 3 shards');
      await t.reconcile();
      expect(sts(t, 'graminsta-redis-standalone'), 'still, while the copy runs').to.not.equal(undefined);

      succeed(copy);
      await t.reconcile();
      expect(apiConfig(t)).to.include({ GRAMINSTA_REDIS_MODE: 'cluster' });
      expect(sts(t, 'graminsta-redis-standalone'), 'kept until the API rolled out').to.not.equal(undefined);
      await passes(t, 4);
      expect(sts(t, 'graminsta-redis-standalone'), 'retired').to.equal(undefined);
      expect(t.caches.get('Service')!.get('graminsta-redis-standalone', NS), 'its Service too').to.equal(undefined);
      expect(cacheReady(t)).to.include({ status: 'True' });
      expect(t.cluster.statuses.at(-1)!.cache).to.deep.include({ shards: 3, replicasPerShard: 1 });
      expect(t.cluster.calls.filter((c) => c.startsWith('apply Job/graminsta-redis-copy-')), 'one copy, applied once').to.have.length(1);
      expect(job(t, 'graminsta-redis-copy-'), 'no longer desired once the standalone is gone').to.equal(undefined);
    });

    it('3 -> 1 shard: the export Job copies the cluster into the new standalone before the API switches; the cluster goes last', async () => {
      const t = setup(spec(3));
      await passes(t, 6);
      t.setSpec(spec(1));
      await t.reconcile();
      expect(sts(t, 'graminsta-redis-standalone')!.spec!.replicas).to.equal(1);
      expect(sts(t, 'graminsta-redis')!.spec!.replicas, 'the cluster keeps serving, all its nodes').to.equal(6);
      const copy = job(t, 'graminsta-redis-copy-')!;
      const env = copy.spec.template.spec.containers[0]!.env;
      expect(copy.spec.template.spec.containers[0]!.command.join(' ')).to.include('redis-cluster-export.sh');
      expect(env).to.deep.include.members([
        { name: 'REDIS_CLUSTER_NODES', value: 'graminsta-redis.photos.svc:6379' },
        { name: 'REDIS_EXPORT_TO', value: 'graminsta-redis-standalone.photos.svc:6379' },
      ]);
      expect(apiConfig(t).GRAMINSTA_REDIS_MODE).to.equal('cluster');
      t.rollOut();
      await t.reconcile();
      expect(cacheReady(t)).to.include({ status: 'False', reason: 'Resharding' });
      expect(apiConfig(t).GRAMINSTA_REDIS_MODE, 'not before the keys are copied').to.equal('cluster');

      succeed(copy);
      await t.reconcile();
      expect(apiConfig(t)).to.include({ GRAMINSTA_REDIS_MODE: 'standalone', GRAMINSTA_REDIS_NODES: 'graminsta-redis-standalone.photos.svc:6379' });
      expect(sts(t, 'graminsta-redis'), 'kept until the API rolled out').to.not.equal(undefined);
      await passes(t, 4);
      expect(sts(t, 'graminsta-redis'), 'retired').to.equal(undefined);
      expect(cacheReady(t)).to.include({ status: 'True' });
      expect(t.cluster.statuses.at(-1)!.cache).to.deep.include({ shards: 1 });
    });

    it('an app whose standalone ran under the old name starts its new standalone empty: no copy Job (nothing copies standalone -> standalone)', async () => {
      const t = setup(spec(1));
      await passes(t, 6);
      const current = sts(t, 'graminsta-redis-standalone')!;
      t.caches.get('StatefulSet')!.put({ ...current, metadata: { ...current.metadata, name: 'graminsta-redis' } });
      await passes(t, 4);
      expect(job(t, 'graminsta-redis-copy-')).to.equal(undefined);
      expect(sts(t, 'graminsta-redis'), 'pruned').to.equal(undefined);
    });
  });

  describe('volumes grow with the spec', () => {
    /** The settled app with its database claim at 1Gi, below what the template asks, of a class that allows expansion or not. */
    const withSmallClaim = async (allowVolumeExpansion: boolean, size = '1Gi') => {
      const t = setup({ users: 1000 });
      await t.reconcile();
      t.completeJobs();
      t.rollOut();
      const sts = t.caches.get('StatefulSet')!.get('graminsta-db', NS) as V1StatefulSet;
      const template = sts.spec!.volumeClaimTemplates![0]!;
      const name = `${template.metadata!.name}-graminsta-db-0`;
      t.cluster.storageClasses.set('local', { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'local' }, allowVolumeExpansion } as KubernetesObject);
      t.cluster.claims.put({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: NS },
        spec: { storageClassName: 'local', resources: { requests: { storage: size } } },
        status: { capacity: { storage: size } },
      });
      return { t, name, want: template.spec!.resources!.requests!.storage! };
    };
    const dbCondition = (t: ReturnType<typeof setup>) => t.cluster.statuses.at(-1)!.conditions.find((c) => c.type === 'DatabaseReady')!;

    it('patches the claim up to the template size where the StorageClass allows expansion, and reports it resizing', async () => {
      const { t, name, want } = await withSmallClaim(true);
      await t.reconcile();
      expect(t.cluster.writes()).to.include(`expand PersistentVolumeClaim/${name} ${want}`);
      expect(dbCondition(t)).to.include({ status: 'True', reason: 'VolumeResizing' });
    });

    it('leaves the claim and says so on the tier where the StorageClass does not allow expansion', async () => {
      const { t, name } = await withSmallClaim(false);
      await t.reconcile();
      expect(t.cluster.writes().filter((c) => c.startsWith('expand'))).to.deep.equal([]);
      expect(dbCondition(t)).to.include({ status: 'True', reason: 'VolumeExpansionNotAllowed' });
      expect(dbCondition(t).message).to.contain(name).and.contain('local');
      expect(t.events).to.include('Warning VolumeExpansionNotAllowed');
    });

    it('reads claims from their cache and the StorageClass only for a claim that would grow: an expanded claim costs no request at rest', async () => {
      const { t, name, want } = await withSmallClaim(true);
      await t.reconcile();
      expect(t.cluster.calls.filter((c) => c.startsWith('read StorageClass/'))).to.deep.equal(['read StorageClass/local']);
      // The resize completes: the claim's capacity reaches its request, as its watch event would bring it.
      t.cluster.claims.get(name, NS)!.status = { capacity: { storage: want } };
      await t.reconcile();
      const before = t.cluster.calls.length;
      await t.reconcile();
      expect(t.cluster.calls.slice(before), 'requests of a pass at rest').to.deep.equal([]);
      expect(dbCondition(t)).to.include({ status: 'True' }).and.not.include({ reason: 'VolumeResizing' });
    });

    it('never shrinks a claim larger than the template', async () => {
      const { t } = await withSmallClaim(true, '1Ti');
      await t.reconcile();
      expect(t.cluster.writes().filter((c) => c.startsWith('expand'))).to.deep.equal([]);
      expect(dbCondition(t)).to.include({ reason: 'VolumeCannotShrink' });
    });
  });

  it('writes nothing at rest: a second pass over an unchanged app makes no request that writes', async () => {
    const t = setup({ users: 1000 });
    await t.reconcile();
    t.completeJobs();
    await t.reconcile();
    const before = t.cluster.writes().length;
    // The fake patchStatus does not update the app's status in the cache, so mirror what the API server would.
    const last = t.cluster.statuses.at(-1)!;
    const app = t.apps.get('graminsta', NS)!;
    t.apps.put({ ...app, status: last } as GraminstaApp);
    await t.reconcile();
    expect(t.cluster.writes().slice(before)).to.deep.equal([]);
  });

  it('issues the database certificates, looks again when a renewal is due, and renews by updating the Secret only: no pod restarts', async () => {
    const t = setup({ users: 10 });
    await t.settle();
    expect(t.cluster.writes()).to.include('create Secret/graminsta-db-ca');
    // Once: the CA as created is the one kept (the pass after its creation reads it back from the cache).
    expect(t.events.filter((e) => e === 'Normal CertificateIssued')).to.have.length(1);
    const secret = (name: string) => t.caches.get('Secret')!.get(name, NS) as { data: Record<string, string> };
    const serverBefore = secret('graminsta-db-tls').data;
    const caBefore = secret('graminsta-db-ca').data;
    expect(Object.keys(serverBefore).sort()).to.deep.equal(['ca.crt', 'tls.crt', 'tls.key']);
    // Settled: the next look is as late as timers allow, long before the 60 days after which the renewal is due.
    const result = await t.reconcile();
    expect(result).to.deep.equal({ requeueAfterMs: 12 * 3_600_000 });
    const before = t.cluster.writes().length;
    nowMs += 61 * 86_400_000;
    await t.reconcile();
    const writes = t.cluster.writes().slice(before).filter((w) => w !== 'status');
    expect(writes).to.deep.equal(['apply Secret/graminsta-db-tls']);
    expect(secret('graminsta-db-tls').data['tls.crt']).not.to.equal(serverBefore['tls.crt']);
    expect(secret('graminsta-db-ca').data).to.deep.equal(caBefore);
    // And at rest again.
    const after = t.cluster.writes().length;
    await t.reconcile();
    expect(t.cluster.writes().slice(after).filter((w) => w !== 'status')).to.deep.equal([]);
  });

  it('prunes only objects this app controls that are no longer desired', async () => {
    const t = setup({ users: 100 });
    await t.reconcile();
    expect(t.caches.get('Deployment')!.get('graminsta-web', NS)).to.not.equal(undefined);
    const foreign = (name: string, uid?: string): KubernetesObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: NS,
        ...(uid ? { ownerReferences: [{ apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', name: 'graminsta', uid, controller: true }] } : {}),
      },
    });
    t.caches.get('ConfigMap')!.put(foreign('someone-elses', 'uid-other'));
    t.caches.get('ConfigMap')!.put(foreign('not-owned'));
    t.caches.get('ConfigMap')!.put(foreign('leftover', UID));
    t.setSpec({ users: 10 });
    await t.reconcile();
    expect(t.cluster.calls.filter((c) => c.startsWith('delete')), 'nothing is pruned before the new pods roll out').to.deep.equal([]);
    await t.settle();
    const deletes = t.cluster.calls.filter((c) => c.startsWith('delete')).sort();
    expect(deletes).to.include.members([
      'delete ConfigMap/graminsta-web-config',
      'delete ConfigMap/leftover',
      'delete Deployment/graminsta-web',
      'delete Service/graminsta-web',
    ]);
    expect(deletes).to.not.include.members(['delete ConfigMap/someone-elses']);
    expect(deletes).to.not.include('delete ConfigMap/not-owned');
    expect(deletes.some((d) => d.startsWith('delete Secret/'))).to.equal(false);
  });

  it('moves from single-machine to split-database make before break: the API Service and the single pod keep serving until the new API pods are ready', async () => {
    const t = setup({ users: 1 });
    await t.settle();
    const service = () => t.caches.get('Service')!.get('graminsta-api', NS) as V1Service;
    const dbContainers = () => (t.caches.get('StatefulSet')!.get('graminsta-db', NS) as V1StatefulSet).spec!.template.spec!.containers.map((c) => c.name);
    expect(service().spec!.selector!['app.kubernetes.io/component']).to.equal('database');
    expect(dbContainers()).to.include('api');

    t.setSpec({ users: 10 });
    await t.reconcile(); // the migrate Job and the new Services; the API Deployment waits for the Job
    expect(t.caches.get('Deployment')!.get('graminsta-api', NS)).to.equal(undefined);
    t.completeJobs();
    await t.reconcile(); // the API Deployment, not yet rolled out
    expect(t.caches.get('Deployment')!.get('graminsta-api', NS)).to.not.equal(undefined);
    expect(service().spec!.selector!['app.kubernetes.io/component'], 'no switch before the new pods are ready').to.equal('database');
    expect(dbContainers(), 'the single pod keeps its API meanwhile').to.include('api');
    const ready = t.cluster.statuses.at(-1)!.conditions.find((c) => c.type === 'Ready')!;
    expect(ready.status).to.equal('False');
    expect(t.cluster.statuses.at(-1)!.conditions.find((c) => c.type === 'Reconciling')).to.include({ status: 'True' });

    t.rollOut();
    await t.reconcile(); // both stores run: the first copy of the photos, before any switch
    const jobs = () => t.caches.get('Job')!.list(NS).map((j) => j.metadata!.name!);
    expect(t.cluster.statuses.at(-1)!.imageStore).to.deep.equal({ kind: 'volume' });
    expect(jobs().filter((n) => n.startsWith('graminsta-images-'))).to.have.length(1);
    expect(jobs().find((n) => n.startsWith('graminsta-images-pre-'))).to.not.equal(undefined);
    expect(service().spec!.selector!['app.kubernetes.io/component'], 'no switch before the photos are copied').to.equal('database');

    t.completeJobs();
    const switched = await t.reconcile();
    expect(service().spec!.selector!['app.kubernetes.io/component']).to.equal('api');
    expect(dbContainers(), 'the old pod keeps serving while the switch settles').to.include('api');
    expect(switched).to.have.property('requeueAfterMs').that.is.greaterThan(0);
    expect(t.events).to.include('Normal TrafficSwitched');

    nowMs += 20_000;
    await t.reconcile(); // the second copy, of what the single pod took in while the switch settled
    expect(jobs().find((n) => n.startsWith('graminsta-images-post-'))).to.not.equal(undefined);
    expect(dbContainers(), 'the single pod keeps its API until the second copy is done').to.include('api');
    await t.settle();
    expect(dbContainers()).to.deep.equal(['postgres']);
    expect(t.cluster.statuses.at(-1)!.imageStore).to.deep.equal({ kind: 'origin' });
    await t.settle();
    expect(jobs().filter((n) => n.startsWith('graminsta-images-')), 'the copy Jobs go once the move is recorded').to.deep.equal([]);
    expect(t.cluster.statuses.at(-1)!.conditions.find((c) => c.type === 'Ready')).to.include({ status: 'True' });
  });

  it('hands spec.replicas over before the apply that leaves it to an HPA, so the Deployment keeps its pods', async () => {
    const t = setup({ users: 100 });
    await t.settle();
    expect((t.caches.get('Deployment')!.get('graminsta-api', NS) as V1Deployment).spec!.replicas).to.equal(2);
    t.setSpec({ users: 1000 });
    t.completeJobs();
    await t.reconcile();
    expect((t.caches.get('Deployment')!.get('graminsta-api', NS) as V1Deployment).spec!.replicas, 'no dip to 1 before the HPA acts').to.equal(2);
    await t.settle();
    const handover = t.cluster.calls.indexOf('handover Deployment/graminsta-api');
    expect(handover, t.cluster.calls.join('\n')).to.be.greaterThan(-1);
    expect(t.cluster.calls.indexOf('apply Deployment/graminsta-api', handover)).to.be.greaterThan(handover);
    expect(t.caches.get('HorizontalPodAutoscaler')!.get('graminsta-api', NS)).to.not.equal(undefined);
  });

  it('runs a failed migrate Job again, twice, then reports Stalled with the Job and its reason', async () => {
    const t = setup({ users: 10 });
    const fail = () => {
      for (const job of t.caches.get('Job')!.list(NS)) {
        (job as { status?: object }).status = { failed: 5, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] };
      }
    };
    await t.reconcile();
    for (let attempt = 2; attempt <= 3; attempt++) {
      fail();
      await t.reconcile();
      expect(t.cluster.calls.filter((c) => c.startsWith('delete Job/graminsta-migrate-')), `attempt ${attempt}`).to.have.length(attempt - 1);
      expect(t.events).to.include('Warning JobRetried');
      await t.reconcile(); // the Job is created anew
    }
    fail();
    await t.reconcile();
    const stalled = t.cluster.statuses.at(-1)!.conditions.find((c) => c.type === 'Stalled')!;
    expect(stalled).to.include({ status: 'True', reason: 'JobFailed' });
    expect(stalled.message).to.match(/Job \w+\/graminsta-migrate-\w+ failed its task 3 times: BackoffLimitExceeded/);
  });

  describe('Jobs deleted after they finished (ttlSecondsAfterFinished)', () => {
    const jobNames = (t: ReturnType<typeof setup>) => t.caches.get('Job')!.list(NS).map((j) => j.metadata!.name!).sort();
    /** What the TTL-after-finished controller does: the Job goes, and its delete event brings the app back. */
    const expire = (t: ReturnType<typeof setup>, name: string) => t.caches.get('Job')!.items.delete(`${NS}/${name}`);
    const condition = (t: ReturnType<typeof setup>, type: string) => t.cluster.statuses.at(-1)!.conditions.find((c) => c.type === type)!;
    /** A split-database app whose migrate Job succeeded (settled, or only after the first pass), then deleted by its TTL. */
    const expired = async (settled = true) => {
      const t = setup({ users: 10 });
      if (settled) await t.settle();
      else await t.reconcile();
      const [migrate] = jobNames(t);
      expire(t, migrate!);
      return { t, migrate: migrate! };
    };

    it('records every Job that succeeded in status.completedJobs', async () => {
      const t = setup({ users: 100000 });
      await passes(t, 4);
      const names = jobNames(t);
      expect(names.map((n) => n.replace(/-[0-9a-f]{10}$/, ''))).to.deep.equal(['graminsta-migrate', 'graminsta-redis-init']);
      expect(t.cluster.statuses.at(-1)!.completedJobs).to.deep.equal(names);
    });

    it('never runs a migrate Job again once it succeeded and was deleted: the API stays applied, the app Ready, nothing written', async () => {
      const { t, migrate } = await expired();
      const before = t.cluster.calls.length;
      t.rollOut();
      await t.reconcile();
      await t.reconcile();
      expect(t.cluster.calls.slice(before).filter((c) => !c.startsWith('read'))).to.deep.equal([]);
      expect(jobNames(t)).to.deep.equal([]);
      expect(condition(t, 'Ready')).to.include({ status: 'True' });
      expect(condition(t, 'DatabaseReady')).to.include({ status: 'True', reason: 'Ready' });
      expect(t.cluster.statuses.at(-1)!.completedJobs).to.deep.equal([migrate]);
    });

    it('lets the API Deployment through its gate when the Job it waits for is recorded but gone', async () => {
      const { t } = await expired();
      // The Deployment is deleted too (say, by hand): it must come back without a new migration.
      t.caches.get('Deployment')!.items.delete(`${NS}/graminsta-api`);
      await t.reconcile();
      expect(t.cluster.calls.filter((c) => c.startsWith('apply Deployment/'))).to.have.length(2);
      expect(t.cluster.calls.filter((c) => c.startsWith('apply Job/'))).to.have.length(1);
    });

    it('runs a new Job for a new image, and forgets the old one once it is no longer desired', async () => {
      const { t, migrate: old } = await expired();
      t.setSpec({ users: 10, image: 'registry.example/graminsta:v2' });
      await t.settle();
      const [fresh] = jobNames(t);
      expect(fresh).to.not.equal(old);
      expect(t.cluster.calls).to.include(`apply Job/${fresh}`);
      expect(t.cluster.statuses.at(-1)!.completedJobs).to.deep.equal([fresh]);
    });

    it('runs a Job again that was deleted before it succeeded', async () => {
      const { t, migrate } = await expired(false);
      await t.reconcile();
      expect(t.cluster.calls.filter((c) => c === `apply Job/${migrate}`)).to.have.length(2);
      expect(t.cluster.statuses.at(-1)!.completedJobs).to.deep.equal([]);
      expect(condition(t, 'DatabaseReady')).to.include({ status: 'False' });
    });

    it('keeps what it recorded while paused', async () => {
      const t = setup({ users: 10 });
      await t.settle();
      const recorded = t.cluster.statuses.at(-1)!.completedJobs;
      t.setSpec({ users: 10, paused: true });
      await t.reconcile();
      expect(t.cluster.statuses.at(-1)!.completedJobs).to.deep.equal(recorded).and.to.have.length(1);
    });
  });

  it('keeps the Mermaid diagram of the current topology in status.diagram', async () => {
    const t = setup({ users: 100000 });
    await passes(t, 1);
    const diagram = t.cluster.statuses.at(-1)!.diagram;
    expect(diagram).to.match(/^---\ntitle: photos\/graminsta — stage data-layer\n---\nflowchart TB\n/);
    expect(diagram).to.include('deployment_graminsta_api --> service_graminsta_db_ro');
    t.setSpec({ users: 10 });
    await passes(t, 1);
    expect(t.cluster.statuses.at(-1)!.diagram).to.include('stage split-database').and.not.include('db_ro');
  });

  it('changes nothing while paused, but still reports status', async () => {
    const t = setup({ users: 10, paused: true });
    await t.reconcile();
    expect(t.cluster.calls).to.deep.equal(['status']);
    expect(t.cluster.statuses[0]!.conditions.find((c) => c.type === 'Reconciling')).to.include({ status: 'False', reason: 'Paused' });
    t.setSpec({ users: 10 });
    await t.reconcile();
    expect(t.cluster.calls.some((c) => c.startsWith('apply'))).to.equal(true);
  });

  it('keeps generated passwords: a Secret already in the cache is read from it, never created or regenerated', async () => {
    const t = setup({ users: 10 });
    await t.reconcile();
    const generated = t.passwords();
    expect(generated).to.equal(4); // database and replication passwords, origin token, token secret
    await t.reconcile();
    expect(t.passwords()).to.equal(generated);
    // The three generated Secrets and the database's CA (created, never applied, like them).
    expect(t.cluster.calls.filter((c) => c.startsWith('create'))).to.have.length(4);
  });

  it('names the keys of a missing external database Secret, as the Secret has them, and retries slowly', async () => {
    const t = setup({ users: 10, database: { external: { secretName: 'rds' } } });
    const result = await t.reconcile();
    expect(result).to.deep.equal({ requeueAfterMs: 30_000 });
    const stalled = t.cluster.statuses[0]!.conditions.find((c) => c.type === 'Stalled')!;
    expect(stalled).to.include({ status: 'True', reason: 'ExternalDatabaseSecretNotFound' });
    expect(stalled.message).to.contain('keys host, password and optionally port, database, user, sslmode, replicaHosts');
    expect(t.cluster.calls.some((c) => c.startsWith('apply'))).to.equal(false);
  });

  it('refuses an external database Secret whose sslmode is not one the service knows, or that does not verify with sslRootCert, naming the fields', async () => {
    const secret = (name: string, data: Record<string, string>) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: NS },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
    const stalledWith = async (spec: GraminstaAppSpec, secrets: KubernetesObject[]) => {
      const t = setup(spec);
      for (const o of secrets) t.caches.get('Secret')!.put(o);
      await t.reconcile();
      return t.cluster.statuses.at(-1)!.conditions.find((c) => c.type === 'Stalled')!;
    };
    const rds = (sslmode: string) => secret('rds', { host: 'db.example', password: 'pw', sslmode });
    const withCa = { users: 10, database: { external: { secretName: 'rds', sslRootCert: { secretName: 'rds-ca' } } } };
    expect(await stalledWith({ users: 10, database: { external: { secretName: 'rds' } } }, [rds('prefer')])).to.include({
      status: 'True',
      reason: 'ExternalDatabaseSecretInvalid',
      message: 'spec.database.external.secretName: Secret photos/rds: sslmode must be one of disable, require, verify-ca, verify-full, got "prefer"',
    });
    expect((await stalledWith(withCa, [rds('require')])).message).to.match(/^spec\.database\.external\.sslRootCert is set but Secret photos\/rds has sslmode require/);
    expect(await stalledWith(withCa, [rds('verify-full')])).to.include({ reason: 'ExternalDatabaseCAInvalid', message: 'spec.database.external.sslRootCert: Secret photos/rds-ca does not exist; create it with the CA certificate(s) (PEM) under the key ca.crt' });
    expect((await stalledWith(withCa, [rds('verify-full'), secret('rds-ca', { 'bundle.pem': 'x' })])).message).to.equal('spec.database.external.sslRootCert: Secret photos/rds-ca lacks the key ca.crt');
    expect((await stalledWith(withCa, [rds('verify-full'), secret('rds-ca', { 'ca.crt': 'not a certificate' })])).message).to.equal('spec.database.external.sslRootCert: key ca.crt of Secret photos/rds-ca holds no PEM certificate');
    expect(await stalledWith(withCa, [rds(''), secret('rds-ca', { 'ca.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' })])).to.include({ status: 'False' });
  });

  it('rolls the API pods when the S3 credentials Secret is rotated: its data is in the config hash', async () => {
    const t = setup({ users: 10000, cdn: { origin: { s3: { bucket: 'photos', credentialsSecret: 'photos-s3' } } } });
    const s3 = (secret: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'photos-s3', namespace: NS },
      data: { AWS_ACCESS_KEY_ID: Buffer.from('id').toString('base64'), AWS_SECRET_ACCESS_KEY: Buffer.from(secret).toString('base64') },
    });
    // Passes enough for the migrate Job to complete and the API Deployment to be applied (the HPA's pods never
    // all become ready here, so the app does not settle; the hash is what counts).
    const passes = async () => {
      for (let i = 0; i < 4; i++) {
        t.completeJobs();
        t.rollOut();
        await t.reconcile();
      }
    };
    t.caches.get('Secret')!.put(s3('first'));
    await passes();
    const hash = () => (t.caches.get('Deployment')!.get('graminsta-api', NS) as V1Deployment | undefined)?.spec?.template.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
    const before = hash();
    expect(before).to.be.a('string');
    await passes();
    expect(hash(), 'unchanged Secret').to.equal(before);
    t.caches.get('Secret')!.put(s3('second'));
    await passes();
    expect(hash()).to.not.equal(before);
  });

  it('stops retrying an unrealisable spec: Stalled InvalidSpec and a terminal error naming the field', async () => {
    const t = setup({ users: 1, api: { replicas: 2 } });
    let error: unknown;
    await t.reconcile().catch((e: unknown) => (error = e));
    expect((error as Error)?.message).to.match(/spec\.api\.replicas/);
    expect((error as Error).name).to.equal('TerminalError');
    expect(t.cluster.statuses[0]!.conditions.find((c) => c.type === 'Stalled')).to.include({ status: 'True', reason: 'InvalidSpec' });
  });

  it('derives the plan once per reconcile: the spec is read as often as by one planOf', async () => {
    const { planOf } = await import('../../../operator/render/plan.render.js');
    const reads = (spec: GraminstaAppSpec) => {
      let n = 0;
      const target: GraminstaApp = { apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', metadata: { name: 'graminsta', namespace: NS, uid: UID }, spec };
      const proxy = new Proxy(target, { get: (o, k, r) => (k === 'spec' && n++, Reflect.get(o, k, r) as unknown) });
      return { proxy, count: () => n };
    };
    const one = reads({ users: 100000 });
    planOf(one.proxy, IMAGES);
    const t = setup({ users: 100000 });
    const counted = reads({ users: 100000 });
    t.apps.put(counted.proxy);
    await t.reconcile();
    expect(counted.count()).to.equal(one.count());
  });
});
