// The Redis cache: a standalone node or a Redis Cluster StatefulSet, its Services, PDB and the cluster forming Job.
import type {
  V1Container,
  V1EnvVar,
  V1Job,
  V1PodDisruptionBudget,
  V1Probe,
  V1Service,
  V1ServicePort,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import { configHash, REDIS_PORT, redisNodes } from './config.render.js';
import type { RenderContext } from './context.render.js';
import { dataClaim, statefulSet } from './database.render.js';
import { hashOf } from './hash.render.js';
import { labels, objectMeta, selectorLabels, serviceHost } from './names.render.js';
import { planOf, type Plan } from './plan.render.js';
import { resourcesFor } from './resources.render.js';
import {
  SCRIPT_FILES,
  SCRIPTS_DIR,
  SCRIPTS_MOUNT,
  scriptsSubset,
  scriptsVolume,
} from './scripts-configmap.render.js';
import { REDIS_SECRET_KEY, renderGeneratedSecrets } from './secrets.render.js';
import { containerSecurityContext, REDIS_UID } from './security.render.js';
import { pdb, podSpec, service, TMP_MOUNT } from './workload.render.js';

/** The Redis image (Debian-based: the redis user is uid 999). */
export const REDIS_IMAGE = 'docker.io/library/redis:7.4-bookworm';
/** Size of each Redis node's volume: it holds only nodes.conf (the cache itself is not persisted). */
export const REDIS_VOLUME_SIZE = '256Mi';

const REDIS_SERVICE_PORT: V1ServicePort = {
  name: 'redis',
  port: REDIS_PORT,
  targetPort: 'redis',
  protocol: 'TCP',
};

/** Number of Redis pods: 1 standalone, else primaries times (1 + replicas per primary). */
export function redisNodeCount(plan: Plan): number {
  const cache = plan.cache;
  if (!cache) return 0;
  return cache.mode === 'standalone' ? 1 : cache.shards * (1 + cache.replicasPerShard);
}

/** Three quarters of a Mi/Gi memory limit as a Redis maxmemory value, or null when the limit is absent or unusual. */
export function maxMemoryFor(limit: string | number | undefined): string | null {
  const match = /^(\d+)(Mi|Gi)$/.exec(String(limit ?? ''));
  if (!match) return null;
  const mib = Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
  return `${Math.floor((mib * 3) / 4)}mb`;
}

function passwordEnv(plan: Plan, name: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: plan.names.redisSecret, key: REDIS_SECRET_KEY } } };
}

function redisProbe(periodSeconds: number, failureThreshold: number): V1Probe {
  return {
    exec: { command: ['sh', '-c', `redis-cli -p ${REDIS_PORT} ping | grep -q PONG`] },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 5,
  };
}

function redisContainer(app: GraminstaApp, plan: Plan): V1Container {
  const cache = plan.cache!;
  const resources = resourcesFor('redis', cache.resources);
  const env: V1EnvVar[] = [
    { name: 'REDIS_MODE', value: cache.mode },
    { name: 'REDIS_PORT', value: String(REDIS_PORT) },
    { name: 'REDIS_DATA_DIR', value: '/data' },
    { name: 'REDIS_RUNTIME_DIR', value: '/tmp' },
    passwordEnv(plan, 'REDIS_PASSWORD'),
    // redis-cli in the probes reads the password from here.
    passwordEnv(plan, 'REDISCLI_AUTH'),
  ];
  const maxMemory = maxMemoryFor(resources.limits?.memory);
  if (maxMemory) env.push({ name: 'REDIS_MAXMEMORY', value: maxMemory });
  if (cache.mode === 'cluster') {
    env.push(
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'REDIS_ANNOUNCE_HOSTNAME', value: `$(POD_NAME).${serviceHost(app, plan.names.redisHeadless)}` },
      { name: 'REDIS_CLUSTER_NODES', value: redisNodes(app, plan) },
    );
  }
  const ports = [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }];
  if (cache.mode === 'cluster')
    ports.push({ name: 'cluster-bus', containerPort: REDIS_PORT + 10000, protocol: 'TCP' });
  return {
    name: 'redis',
    image: REDIS_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', `${SCRIPTS_DIR}/${SCRIPT_FILES.redisNode}`],
    env,
    ports,
    resources,
    securityContext: containerSecurityContext(REDIS_UID),
    volumeMounts: [TMP_MOUNT, SCRIPTS_MOUNT, { name: 'data', mountPath: '/data' }],
    startupProbe: redisProbe(2, 60),
    readinessProbe: redisProbe(5, 2),
    livenessProbe: redisProbe(10, 6),
  };
}

/** The Redis StatefulSet (standalone or every cluster node); null without a cache. */
export function renderRedisStatefulSet(app: GraminstaApp, ctx: RenderContext): V1StatefulSet | null {
  const plan = planOf(app, ctx);
  if (!plan.cache) return null;
  const hash = configHash(
    [scriptsSubset(app, [SCRIPT_FILES.redisNode])],
    [plan.names.redisSecret],
    renderGeneratedSecrets(app, ctx),
    ctx,
  );
  return statefulSet(app, {
    name: plan.names.redis,
    component: 'cache',
    serviceName: plan.names.redisHeadless,
    replicas: redisNodeCount(plan),
    hash,
    parallel: true,
    spec: podSpec({
      uid: REDIS_UID,
      containers: [redisContainer(app, plan)],
      volumes: [scriptsVolume(app)],
      spreadLabels: selectorLabels(app, 'cache'),
    }),
    claims: [dataClaim('data', REDIS_VOLUME_SIZE)],
  });
}

/** The Redis Service the API connects to (standalone) or seeds from (cluster); null without a cache. */
export function renderRedisService(app: GraminstaApp): V1Service | null {
  const plan = planOf(app);
  if (!plan.cache) return null;
  return service(app, {
    name: plan.names.redis,
    component: 'cache',
    selector: 'cache',
    ports: [REDIS_SERVICE_PORT],
  });
}

/** The headless Service that gives each Redis pod a stable DNS name, published before the pods are ready; null without a cache. */
export function renderRedisHeadlessService(app: GraminstaApp): V1Service | null {
  const plan = planOf(app);
  if (!plan.cache) return null;
  const ports: V1ServicePort[] = [REDIS_SERVICE_PORT];
  if (plan.cache.mode === 'cluster') {
    ports.push({ name: 'cluster-bus', port: REDIS_PORT + 10000, targetPort: 'cluster-bus', protocol: 'TCP' });
  }
  return service(app, {
    name: plan.names.redisHeadless,
    component: 'cache',
    selector: 'cache',
    ports,
    headless: true,
    publishNotReadyAddresses: true,
  });
}

/** The Redis nodes' PodDisruptionBudget; null unless there are at least two nodes. */
export function renderRedisPdb(app: GraminstaApp): V1PodDisruptionBudget | null {
  const plan = planOf(app);
  if (!plan.cache) return null;
  return pdb(app, plan.names.redis, 'cache', redisNodeCount(plan));
}

/** The Job that forms the Redis Cluster once all nodes answer, named after the topology; null unless the cache is a cluster. */
export function renderRedisClusterJob(app: GraminstaApp, ctx: RenderContext): V1Job | null {
  const plan = planOf(app, ctx);
  const cache = plan.cache;
  if (cache?.mode !== 'cluster') return null;
  const env: V1EnvVar[] = [
    { name: 'REDIS_CLUSTER_NODES', value: redisNodes(app, plan) },
    { name: 'REDIS_CLUSTER_REPLICAS', value: String(cache.replicasPerShard) },
    passwordEnv(plan, 'REDIS_PASSWORD'),
  ];
  const script = scriptsSubset(app, [SCRIPT_FILES.redisClusterForm]);
  const name = `${plan.names.redisInitPrefix}${hashOf({ image: REDIS_IMAGE, env, script: script?.data }).slice(0, 10)}`;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: objectMeta(app, name, 'cache-init'),
    spec: {
      backoffLimit: 20,
      template: {
        // Its own component, so the Redis Services, StatefulSet and PDB never select the Job's pod.
        metadata: { labels: labels(app, 'cache-init') },
        spec: podSpec({
          uid: REDIS_UID,
          restartPolicy: 'OnFailure',
          containers: [
            {
              name: 'form-cluster',
              image: REDIS_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', `${SCRIPTS_DIR}/${SCRIPT_FILES.redisClusterForm}`],
              env,
              resources: resourcesFor('tool'),
              securityContext: containerSecurityContext(REDIS_UID),
              volumeMounts: [TMP_MOUNT, SCRIPTS_MOUNT],
            },
          ],
          volumes: [scriptsVolume(app)],
        }),
      },
    },
  };
}
