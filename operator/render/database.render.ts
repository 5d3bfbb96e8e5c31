// The in-cluster Postgres: the primary StatefulSet and its -rw Service, read replicas and their -ro Service.
import type {
  V1Container,
  V1EnvVar,
  V1PodDisruptionBudget,
  V1Probe,
  V1Volume,
  V1VolumeMount,
  V1PodSpec,
  V1Service,
  V1ServicePort,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { DB_NAME, DB_USER, LOOPBACK_CIDRS, POSTGRES_DATA_DIR, POSTGRES_PORT, SCRIPTS_DIR } from './constants.render.js';
import { postgresTlsEnv } from './database-tls.render.js';
import { secretEnv } from './env.render.js';
import { selectorLabels, serviceHost } from './names.render.js';
import { DB_SECRET_KEYS, type InClusterDatabasePlan, type Plan, type ResolvedPlan } from './plan.render.js';
import { resourcesFor } from './resources.render.js';
import { REPLICA_SLOTS_KEY, replicaSlotPrefix, SCRIPT_FILES, SCRIPTS_MOUNT, scriptCommand, scriptsVolume } from './scripts-configmap.render.js';
import { containerSecurityContext, POSTGRES_UID } from './security.render.js';
import { postgresExporterContainer } from './monitoring.render.js';
import { RESTORE_DIR, restoreContainer } from './backup.render.js';
import { dataClaim, pdb, podSpec, service, statefulSet, TMP_MOUNT } from './workload.render.js';

const POSTGRES_SERVICE_PORT: V1ServicePort = {
  name: 'postgres',
  port: POSTGRES_PORT,
  targetPort: 'postgres',
  protocol: 'TCP',
};

function pgIsReady(periodSeconds: number, failureThreshold: number) {
  return {
    exec: { command: ['pg_isready', '-q', '-h', '127.0.0.1', '-p', String(POSTGRES_PORT)] },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 5,
  };
}

/** The in-cluster database of a plan; throws when the plan has none (a builder bug, never a user error). */
function inCluster(plan: Plan): InClusterDatabasePlan {
  if (plan.database.placement === 'external') throw new Error('the plan has no in-cluster database');
  return plan.database;
}

/**
 * A Postgres container of the app: the primary or a read replica. Both listen on the pod's addresses, the
 * single-machine pod's too: when the app grows, the new API pods and the migrate Job use that database before
 * the single pod gives up its API (make before break).
 */
const STORAGE_UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** Bytes of a storage quantity such as 10Gi or 500M; undefined when it is not one. */
function storageBytes(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(|k|M|G|T|Ki|Mi|Gi|Ti)$/.exec(q);
  return m ? Number(m[1]) * STORAGE_UNITS[m[2]!]! : undefined;
}

/**
 * max_slot_wal_keep_size for a primary volume of the given size: the WAL a slot may hold back for a lagging or
 * absent replica before the slot is given up, min(2GB, 20% of the volume) in MB, so that a replica that
 * stopped cannot fill the primary's disk. The primary sets it on every start (the volume may have grown).
 */
export function slotWalKeepSize(volumeSize: string): string {
  const bytes = storageBytes(volumeSize);
  if (bytes === undefined || bytes <= 0) throw new Error(`spec.database.storage.size: ${JSON.stringify(volumeSize)} is not a positive quantity`);
  return `${Math.max(64, Math.min(2048, Math.floor((bytes * 0.2) / 2 ** 20)))}MB`;
}

/**
 * Postgres' dynamic shared memory (parallel queries, hash joins) lives in /dev/shm, which the runtime caps at
 * 64 MiB: a memory-backed emptyDir instead, as CloudNativePG mounts. What it holds counts toward the memory limit.
 */
const SHM_VOLUME: V1Volume = { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '256Mi' } };
const SHM_MOUNT: V1VolumeMount = { name: 'shm', mountPath: '/dev/shm' };

const replicaReady: V1Probe = {
  exec: { command: scriptCommand(SCRIPT_FILES.postgresReplicaReady) },
  periodSeconds: 5,
  failureThreshold: 2,
  // Up to three checks of a few seconds each: its own socket, its replay state, the primary when not streaming.
  timeoutSeconds: 10,
};

export function postgresContainer(plan: Plan, role: 'primary' | 'replica'): V1Container {
  const db = inCluster(plan);
  const secret = plan.names.databaseSecret;
  // Replicas need at least the primary's value: a hot standby stops replaying WAL from a primary with more.
  const maxWalSenders: V1EnvVar = { name: 'POSTGRES_MAX_WAL_SENDERS', value: String(Math.max(10, db.readReplicas + 2)) };
  const env: V1EnvVar[] = [
    { name: 'PGDATA', value: `${POSTGRES_DATA_DIR}/pgdata` },
    { name: 'POSTGRES_BIN_DIR', value: `/usr/lib/postgresql/${db.version}/bin` },
    { name: 'POSTGRES_PORT', value: String(POSTGRES_PORT) },
    { name: 'POSTGRES_SOCKET_DIR', value: '/tmp' },
    { name: 'POSTGRES_LISTEN_ADDRESSES', value: '*' },
    // pg_hba: TLS only, from loopback (the clients in this pod) and the allowed networks.
    { name: 'POSTGRES_ALLOWED_CIDRS', value: [...LOOPBACK_CIDRS, ...db.allowedCIDRs].join(' ') },
    ...postgresTlsEnv(plan),
  ];
  if (role === 'primary') {
    env.push(
      { name: 'POSTGRES_DB', value: DB_NAME },
      { name: 'POSTGRES_APP_USER', value: DB_USER },
      secretEnv('POSTGRES_APP_PASSWORD', secret, DB_SECRET_KEYS.password),
      secretEnv('POSTGRES_REPLICATION_PASSWORD', secret, DB_SECRET_KEYS.replicationPassword),
      maxWalSenders,
      { name: 'POSTGRES_MAX_SLOT_WAL_KEEP_SIZE', value: slotWalKeepSize(db.size) },
      { name: 'POSTGRES_REPLICA_SLOT_PREFIX', value: replicaSlotPrefix(plan) },
      { name: 'POSTGRES_REPLICA_SLOTS_PATH', value: `${SCRIPTS_DIR}/${REPLICA_SLOTS_KEY}` },
    );
    if (db.restore) env.push({ name: 'POSTGRES_RESTORE_DIR', value: RESTORE_DIR });
  } else {
    env.push(
      { name: 'POSTGRES_PRIMARY_HOST', value: serviceHost(plan.names, plan.names.databaseRw) },
      { name: 'POSTGRES_PRIMARY_PORT', value: String(POSTGRES_PORT) },
      secretEnv('POSTGRES_REPLICATION_PASSWORD', secret, DB_SECRET_KEYS.replicationPassword),
      maxWalSenders,
      { name: 'POSTGRES_MAX_REPLICA_LAG_SECONDS', value: String(db.maxReplicaLagSeconds) },
    );
  }
  return {
    name: 'postgres',
    image: plan.images.postgres!,
    imagePullPolicy: 'IfNotPresent',
    command: scriptCommand(role === 'primary' ? SCRIPT_FILES.postgresPrimary : SCRIPT_FILES.postgresReplica),
    env,
    ports: [{ name: 'postgres', containerPort: POSTGRES_PORT, protocol: 'TCP' }],
    resources: resourcesFor('postgres', db.resources),
    securityContext: containerSecurityContext(POSTGRES_UID),
    volumeMounts: [TMP_MOUNT, SCRIPTS_MOUNT, { name: 'data', mountPath: POSTGRES_DATA_DIR }, SHM_MOUNT],
    // A replica's first start clones the primary (pg_basebackup), which can take long on a big database.
    startupProbe: pgIsReady(5, role === 'primary' ? 120 : 720),
    // A replica serves reads only while it streams within the lag bound (or the primary is down: nothing newer exists).
    readinessProbe: role === 'primary' ? pgIsReady(5, 2) : replicaReady,
    livenessProbe: pgIsReady(10, 6),
  };
}

/** `containers` and, when the app is monitored, the Postgres metrics sidecar after them. */
export function withExporter(plan: Plan, containers: V1Container[]): V1Container[] {
  const exporter = postgresExporterContainer(plan);
  return exporter ? [...containers, exporter] : containers;
}

/**
 * The StatefulSet `<app>-db` that runs the primary, alone or with the API in the single-machine pod: its name,
 * Service and volume claim are the same in both, so moving between the two keeps the database volume.
 */
export function primaryStatefulSet(
  plan: Plan,
  hash: string,
  pod: Pick<V1PodSpec, 'initContainers' | 'containers'>,
): V1StatefulSet {
  const db = inCluster(plan);
  // A restore fetches its backup before Postgres starts (on an empty volume only: restoreContainer).
  const restore = restoreContainer(plan);
  if (restore) pod = { ...pod, initContainers: [restore, ...(pod.initContainers ?? [])] };
  return statefulSet(plan.names, {
    name: plan.names.database,
    component: 'database',
    serviceName: plan.names.databaseHeadless,
    replicas: 1,
    hash,
    // Off the replicas' node where the cluster has a choice: one node's loss then leaves reads or writes. Set
    // whether or not replicas exist, so that adding them does not restart the primary.
    spec: podSpec({ uid: POSTGRES_UID, ...pod, volumes: [scriptsVolume(plan), SHM_VOLUME], avoidLabels: selectorLabels(plan.names, 'database-replica') }),
    claims: [dataClaim('data', db.size, db.storageClassName)],
  });
}

/** The primary's StatefulSet (one pod); null unless Postgres runs in its own StatefulSet. */
export function renderDatabaseStatefulSet(plan: ResolvedPlan): V1StatefulSet | null {
  if (plan.database.placement !== 'in-cluster') return null;
  return primaryStatefulSet(plan, plan.hashes.database, { containers: withExporter(plan, [postgresContainer(plan, 'primary')]) });
}

/** The headless Service that names the primary's pod (also of the single-machine pod); null with an external database. */
export function renderDatabaseHeadlessService(plan: Plan): V1Service | null {
  if (plan.database.placement === 'external') return null;
  return service(plan.names, {
    name: plan.names.databaseHeadless,
    component: 'database',
    selector: 'database',
    ports: [POSTGRES_SERVICE_PORT],
    headless: true,
  });
}

/** The -rw Service in front of the primary; null unless Postgres runs in its own StatefulSet. */
export function renderDatabaseRwService(plan: Plan): V1Service | null {
  if (plan.database.placement !== 'in-cluster') return null;
  return service(plan.names, {
    name: plan.names.databaseRw,
    component: 'database',
    selector: 'database',
    ports: [POSTGRES_SERVICE_PORT],
  });
}

function hasReadReplicas(plan: Plan): boolean {
  return plan.database.placement === 'in-cluster' && plan.database.readReplicas > 0;
}

/** The read replicas' StatefulSet, streaming from the primary; null without read replicas. */
export function renderDatabaseReplicaStatefulSet(plan: ResolvedPlan): V1StatefulSet | null {
  if (!hasReadReplicas(plan)) return null;
  const db = inCluster(plan);
  return statefulSet(plan.names, {
    name: plan.names.databaseReplica,
    component: 'database-replica',
    serviceName: plan.names.databaseReplicaHeadless,
    replicas: db.readReplicas,
    hash: plan.hashes.databaseReplica,
    parallel: true,
    spec: podSpec({
      uid: POSTGRES_UID,
      containers: withExporter(plan, [postgresContainer(plan, 'replica')]),
      volumes: [scriptsVolume(plan), SHM_VOLUME],
      spreadLabels: selectorLabels(plan.names, 'database-replica'),
      avoidLabels: selectorLabels(plan.names, 'database'),
    }),
    claims: [dataClaim('data', db.size, db.storageClassName)],
  });
}

/** The headless Service that names the replicas' pods; null without read replicas. */
export function renderDatabaseReplicaHeadlessService(plan: Plan): V1Service | null {
  if (!hasReadReplicas(plan)) return null;
  return service(plan.names, {
    name: plan.names.databaseReplicaHeadless,
    component: 'database-replica',
    selector: 'database-replica',
    ports: [POSTGRES_SERVICE_PORT],
    headless: true,
  });
}

/** The -ro Service in front of the read replicas; null without read replicas. */
export function renderDatabaseRoService(plan: Plan): V1Service | null {
  if (!hasReadReplicas(plan)) return null;
  return service(plan.names, {
    name: plan.names.databaseRo,
    component: 'database-replica',
    selector: 'database-replica',
    ports: [POSTGRES_SERVICE_PORT],
  });
}

/** The read replicas' PodDisruptionBudget; null unless there are at least two (the primary, one pod, never gets one). */
export function renderDatabaseReplicaPdb(plan: Plan): V1PodDisruptionBudget | null {
  if (plan.database.placement !== 'in-cluster') return null;
  return pdb(plan.names, plan.names.databaseReplica, 'database-replica', plan.database.readReplicas);
}
