// The <app>-scripts ConfigMap: the Postgres and Redis entrypoints, mounted read-only at /scripts.
import type { V1ConfigMap, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { SCRIPTS_DIR } from './constants.render.js';
import { objectMeta } from './names.render.js';
import type { Plan } from './plan.render.js';
import { SCRIPTS } from './scripts/scripts.gen.js';

/** ConfigMap keys (file names under SCRIPTS_DIR) of the scripts. */
export const SCRIPT_FILES = {
  postgresPrimary: 'postgres-primary.sh',
  postgresReplica: 'postgres-replica.sh',
  postgresReplicaReady: 'postgres-replica-ready.sh',
  postgresBackup: 'postgres-backup.sh',
  redisNode: 'redis-node.sh',
  redisClusterForm: 'redis-cluster-form.sh',
  redisClusterExport: 'redis-cluster-export.sh',
} as const satisfies Record<string, keyof typeof SCRIPTS>;

/** The key of the scripts ConfigMap that lists the slots of the read replicas that exist (the primary drops the others). */
export const REPLICA_SLOTS_KEY = 'replica-slots';

/** The key of the scripts ConfigMap listing the wanted Redis Cluster nodes, one host:port a line (REDIS_CLUSTER_NODES_FILE of redis-node.sh). */
export const REDIS_NODES_KEY = 'redis-cluster-nodes';

/** The key of the scripts ConfigMap holding cache.replicasPerShard (REDIS_CLUSTER_REPLICAS_FILE of redis-node.sh). */
export const REDIS_REPLICAS_KEY = 'redis-cluster-replicas';

/** The physical slot a replica pod streams from: its name with [^a-z0-9_] as _, as postgres-replica.sh derives it. */
export function replicationSlotOf(podName: string): string {
  return podName.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** The prefix of every replica slot of the app (slotOf of `<app>-db-replica-`): the primary drops only slots named so. */
export function replicaSlotPrefix(plan: Plan): string {
  return replicationSlotOf(`${plan.names.databaseReplica}-`);
}

/** The scripts ConfigMap; null when the app runs neither Postgres nor Redis in the cluster. */
export function renderScriptsConfigMap(plan: Plan): V1ConfigMap | null {
  const data: Record<string, string> = {};
  if (plan.database.placement !== 'external') {
    data[SCRIPT_FILES.postgresPrimary] = SCRIPTS[SCRIPT_FILES.postgresPrimary];
    // Read by the running primary (not part of its config hash: the kubelet refreshes the file, nothing restarts).
    const slots = Array.from({ length: plan.database.readReplicas }, (_, i) => replicationSlotOf(`${plan.names.databaseReplica}-${i}`));
    data[REPLICA_SLOTS_KEY] = slots.map((s) => `${s}\n`).join('');
    if (plan.database.backup) data[SCRIPT_FILES.postgresBackup] = SCRIPTS[SCRIPT_FILES.postgresBackup];
    if (plan.database.readReplicas > 0) {
      data[SCRIPT_FILES.postgresReplica] = SCRIPTS[SCRIPT_FILES.postgresReplica];
      data[SCRIPT_FILES.postgresReplicaReady] = SCRIPTS[SCRIPT_FILES.postgresReplicaReady];
    }
  }
  if (plan.cache) data[SCRIPT_FILES.redisNode] = SCRIPTS[SCRIPT_FILES.redisNode];
  // The copy Job of a move cluster -> standalone runs it (ADR 0012, "Standalone <-> cluster").
  if (plan.cache?.mode === 'standalone') data[SCRIPT_FILES.redisClusterExport] = SCRIPTS[SCRIPT_FILES.redisClusterExport];
  if (plan.cache?.mode === 'cluster') {
    data[SCRIPT_FILES.redisClusterForm] = SCRIPTS[SCRIPT_FILES.redisClusterForm];
    // Read by the running nodes (not part of their config hash): a resize changes them without restarting a node,
    // which would come back without its keys (the cache is not persisted).
    data[REDIS_NODES_KEY] = `${plan.cache.nodes.split(',').join('\n')}\n`;
    data[REDIS_REPLICAS_KEY] = `${plan.cache.replicasPerShard}\n`;
  }
  if (Object.keys(data).length === 0) return null;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(plan.names, plan.names.scripts, 'config'),
    data,
  };
}

/** The pod volume of the scripts ConfigMap (files readable and executable by the container user). */
export function scriptsVolume(plan: Plan): V1Volume {
  return { name: 'scripts', configMap: { name: plan.names.scripts, defaultMode: 0o555 } };
}

/** The container mount of scriptsVolume. */
export const SCRIPTS_MOUNT: V1VolumeMount = { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true };

/** The command that runs one of the scripts. */
export function scriptCommand(file: string): string[] {
  return ['sh', `${SCRIPTS_DIR}/${file}`];
}

/** The scripts ConfigMap reduced to some of its files, so a pod's config hash covers only the scripts it runs. */
export function scriptsSubset(plan: Plan, files: string[]): V1ConfigMap | null {
  const all = renderScriptsConfigMap(plan);
  if (!all) return null;
  const data = Object.fromEntries(files.map((f) => [f, all.data?.[f] ?? '']));
  return { ...all, data };
}
