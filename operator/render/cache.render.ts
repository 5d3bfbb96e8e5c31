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
import { JOB_DEADLINE_SECONDS, JOB_TTL_SECONDS, REDIS_PORT, SCRIPTS_DIR } from './constants.render.js';
import { redisPasswordEnv } from './env.render.js';
import { redisExporterContainer } from './monitoring.render.js';
import { hashOf } from './hash.render.js';
import { labels, objectMeta, selectorLabels, serviceHost } from './names.render.js';
import { redisComponent, redisStatefulSetName, type CachePlan, type Plan, type ResolvedPlan } from './plan.render.js';
import { resourcesFor } from './resources.render.js';
import {
  REDIS_NODES_KEY,
  REDIS_REPLICAS_KEY,
  SCRIPT_FILES,
  SCRIPTS_MOUNT,
  scriptCommand,
  scriptsSubset,
  scriptsVolume,
} from './scripts-configmap.render.js';
import { containerSecurityContext, REDIS_UID } from './security.render.js';
import { dataClaim, pdb, podSpec, service, statefulSet, TMP_MOUNT } from './workload.render.js';

const REDIS_SERVICE_PORT: V1ServicePort = {
  name: 'redis',
  port: REDIS_PORT,
  targetPort: 'redis',
  protocol: 'TCP',
};

/** Three quarters of a Mi/Gi memory limit as a Redis maxmemory value, or null when the limit is absent or unusual. */
export function maxMemoryFor(limit: string | number | undefined): string | null {
  const match = /^(\d+)(Mi|Gi)$/.exec(String(limit ?? ''));
  if (!match) return null;
  const mib = Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
  return `${Math.floor((mib * 3) / 4)}mb`;
}

function redisProbe(periodSeconds: number, failureThreshold: number): V1Probe {
  // The password is a mounted file (REDIS_PASSWORD_FILE, see secret-files.render.ts): read for this one redis-cli only.
  const auth = 'REDISCLI_AUTH="$(cat "$REDIS_PASSWORD_FILE")"';
  return {
    exec: { command: ['sh', '-c', `${auth} redis-cli --no-auth-warning -p ${REDIS_PORT} ping | grep -q PONG`] },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 5,
  };
}

function redisContainer(plan: Plan, cache: CachePlan): V1Container {
  const resources = resourcesFor('redis', cache.resources);
  const env: V1EnvVar[] = [
    { name: 'REDIS_MODE', value: cache.mode },
    { name: 'REDIS_PORT', value: String(REDIS_PORT) },
    { name: 'REDIS_DATA_DIR', value: '/data' },
    { name: 'REDIS_RUNTIME_DIR', value: '/tmp' },
    redisPasswordEnv(plan, 'REDIS_PASSWORD'),
  ];
  const maxMemory = maxMemoryFor(resources.limits?.memory);
  if (maxMemory) env.push({ name: 'REDIS_MAXMEMORY', value: maxMemory });
  const ports = [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }];
  if (cache.mode === 'cluster') {
    env.push(
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      {
        name: 'REDIS_ANNOUNCE_HOSTNAME',
        value: `$(POD_NAME).${serviceHost(plan.names, plan.names.redisHeadless)}`,
      },
      // Files, not values: a resize must not change the pod template (a restarted node loses its keys).
      { name: 'REDIS_CLUSTER_NODES_FILE', value: `${SCRIPTS_DIR}/${REDIS_NODES_KEY}` },
      { name: 'REDIS_CLUSTER_REPLICAS_FILE', value: `${SCRIPTS_DIR}/${REDIS_REPLICAS_KEY}` },
    );
    ports.push({ name: 'cluster-bus', containerPort: REDIS_PORT + 10000, protocol: 'TCP' });
  }
  return {
    name: 'redis',
    image: plan.images.redis!,
    imagePullPolicy: 'IfNotPresent',
    command: scriptCommand(SCRIPT_FILES.redisNode),
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
export function renderRedisStatefulSet(plan: ResolvedPlan): V1StatefulSet | null {
  const cache = plan.cache;
  if (!cache) return null;
  const component = redisComponent(cache.mode);
  return statefulSet(plan.names, {
    name: redisStatefulSetName(plan.names, cache.mode),
    component,
    serviceName: plan.names.redisHeadless,
    replicas: cache.nodeCount,
    hash: plan.hashes.redis,
    parallel: true,
    spec: podSpec({
      uid: REDIS_UID,
      containers: [redisContainer(plan, cache), ...[redisExporterContainer(plan)].filter((c) => c !== null)],
      volumes: [scriptsVolume(plan)],
      spreadLabels: selectorLabels(plan.names, component),
    }),
    claims: [dataClaim('data', String(cache.storage.size), cache.storage.storageClassName)],
  });
}

/** The Redis Service of the cache's mode: the API connects to it (standalone), the copy of a mode change reads a cluster through it; null without a cache. */
export function renderRedisService(plan: Plan): V1Service | null {
  if (!plan.cache) return null;
  const component = redisComponent(plan.cache.mode);
  return service(plan.names, { name: redisStatefulSetName(plan.names, plan.cache.mode), component, selector: component, ports: [REDIS_SERVICE_PORT] });
}

/** The headless Service that gives each Redis pod a stable DNS name, published before the pods are ready; null without a cache. */
export function renderRedisHeadlessService(plan: Plan): V1Service | null {
  if (!plan.cache) return null;
  const ports: V1ServicePort[] = [REDIS_SERVICE_PORT];
  if (plan.cache.mode === 'cluster') {
    ports.push({ name: 'cluster-bus', port: REDIS_PORT + 10000, targetPort: 'cluster-bus', protocol: 'TCP' });
  }
  return service(plan.names, {
    name: plan.names.redisHeadless,
    component: 'cache',
    selector: 'cache',
    ports,
    headless: true,
    publishNotReadyAddresses: true,
  });
}

/** The Redis nodes' PodDisruptionBudget; null unless there are at least two nodes. */
export function renderRedisPdb(plan: Plan): V1PodDisruptionBudget | null {
  if (!plan.cache) return null;
  return pdb(plan.names, plan.names.redis, 'cache', plan.cache.nodeCount);
}

function clusterFormEnv(plan: Plan, cache: CachePlan): V1EnvVar[] {
  return [
    { name: 'REDIS_CLUSTER_NODES', value: cache.nodes },
    { name: 'REDIS_CLUSTER_REPLICAS', value: String(cache.replicasPerShard) },
    redisPasswordEnv(plan, 'REDIS_PASSWORD'),
  ];
}

/** Name of the Job that forms the Redis Cluster, after its image, topology and script; null unless the cache is a cluster. */
export function redisInitJobName(plan: Plan): string | null {
  const cache = plan.cache;
  if (cache?.mode !== 'cluster') return null;
  const script = scriptsSubset(plan, [SCRIPT_FILES.redisClusterForm]);
  const hash = hashOf({ image: plan.images.redis, env: clusterFormEnv(plan, cache), script: script?.data });
  return `${plan.names.redisInitPrefix}${hash.slice(0, 10)}`;
}

/** The Job that forms the Redis Cluster once all nodes answer; null unless the cache is a cluster. */
export function renderRedisClusterJob(plan: ResolvedPlan): V1Job | null {
  const cache = plan.cache;
  const name = plan.jobs.redisInit;
  if (cache?.mode !== 'cluster' || !name) return null;
  return redisToolJob(plan, name, 'form-cluster', SCRIPT_FILES.redisClusterForm, clusterFormEnv(plan, cache));
}

/** A Job running one Redis script with redis-cli against the nodes (forming the cluster, copying keys). */
function redisToolJob(plan: Plan, name: string, container: string, script: string, env: V1EnvVar[]): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: objectMeta(plan.names, name, 'cache-init'),
    spec: {
      backoffLimit: 20,
      activeDeadlineSeconds: JOB_DEADLINE_SECONDS.redisInit,
      ttlSecondsAfterFinished: JOB_TTL_SECONDS,
      template: {
        // Its own component, so the Redis Services, StatefulSet and PDB never select the Job's pod.
        metadata: { labels: labels(plan.names, 'cache-init') },
        spec: podSpec({
          uid: REDIS_UID,
          restartPolicy: 'OnFailure',
          containers: [
            {
              name: container,
              image: plan.images.redis!,
              imagePullPolicy: 'IfNotPresent',
              command: scriptCommand(script),
              env,
              resources: resourcesFor('tool'),
              securityContext: containerSecurityContext(REDIS_UID),
              volumeMounts: [TMP_MOUNT, SCRIPTS_MOUNT],
            },
          ],
          volumes: [scriptsVolume(plan)],
        }),
      },
    },
  };
}

function copyEnv(plan: Plan, cache: CachePlan, from: CachePlan['mode']): { script: string; env: V1EnvVar[] } {
  const old = `${serviceHost(plan.names, redisStatefulSetName(plan.names, from))}:${REDIS_PORT}`;
  if (cache.mode === 'cluster') {
    // The form script again (a no-op on the formed cluster; this Job runs after the form Job), with the standalone to copy.
    return { script: SCRIPT_FILES.redisClusterForm, env: [...clusterFormEnv(plan, cache), { name: 'REDIS_IMPORT_FROM', value: old }] };
  }
  return {
    script: SCRIPT_FILES.redisClusterExport,
    env: [{ name: 'REDIS_CLUSTER_NODES', value: old }, { name: 'REDIS_EXPORT_TO', value: cache.nodes }, redisPasswordEnv(plan, 'REDIS_PASSWORD')],
  };
}

/** Name of the Job that copies the keys of the mode left (`from`) into the cache's mode, after its image, env and script; null without a cache or without a change. */
export function redisCopyJobName(plan: Plan, from: CachePlan['mode'] | null): string | null {
  const cache = plan.cache;
  if (!cache || !from || from === cache.mode) return null;
  const { script, env } = copyEnv(plan, cache, from);
  const hash = hashOf({ image: plan.images.redis, env, script: scriptsSubset(plan, [script])?.data });
  return `${plan.names.redisCopyPrefix}${hash.slice(0, 10)}`;
}

/**
 * The Job that copies every key with its TTL from the mode the cache leaves into the new one while both run:
 * standalone -> cluster with the form script's REDIS_IMPORT_FROM, cluster -> standalone with redis-cluster-export.sh.
 * Null without a change of mode.
 */
export function renderRedisCopyJob(plan: Plan, from: CachePlan['mode'] | null): V1Job | null {
  const cache = plan.cache;
  const name = redisCopyJobName(plan, from);
  if (!cache || !from || !name) return null;
  const { script, env } = copyEnv(plan, cache, from);
  return redisToolJob(plan, name, 'copy-keys', script, env);
}
