// The in-cluster Postgres: the primary StatefulSet and its -rw Service, read replicas and their -ro Service.
import type {
  V1Container,
  V1EnvVar,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1Service,
  V1ServicePort,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import { configHash, DB_NAME, DB_USER, POSTGRES_PORT } from './config.render.js';
import type { RenderContext } from './context.render.js';
import {
  CONFIG_HASH_ANNOTATION,
  labels,
  objectMeta,
  selectorLabels,
  serviceHost,
  type Component,
} from './names.render.js';
import { planOf, type DatabasePlan, type Plan } from './plan.render.js';
import { resourcesFor } from './resources.render.js';
import {
  SCRIPT_FILES,
  SCRIPTS_DIR,
  SCRIPTS_MOUNT,
  scriptsSubset,
  scriptsVolume,
} from './scripts-configmap.render.js';
import { DB_SECRET_KEYS, renderGeneratedSecrets } from './secrets.render.js';
import { containerSecurityContext, POSTGRES_UID } from './security.render.js';
import { pdb, podSpec, service, TMP_MOUNT } from './workload.render.js';
import type { ResourceRequirements } from '../api/types.gen.js';

/** Where the database volume is mounted in Postgres containers; PGDATA is a subdirectory of it. */
export const POSTGRES_DATA_DIR = '/var/lib/postgresql/data';

/** The Postgres image of a major version (Debian-based: the postgres user is uid 999). */
export function postgresImage(version: string): string {
  return `docker.io/library/postgres:${version}-bookworm`;
}

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

function secretEnv(name: string, secret: string, key: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

function baseEnv(version: string): V1EnvVar[] {
  return [
    { name: 'PGDATA', value: `${POSTGRES_DATA_DIR}/pgdata` },
    { name: 'POSTGRES_BIN_DIR', value: `/usr/lib/postgresql/${version}/bin` },
    { name: 'POSTGRES_PORT', value: String(POSTGRES_PORT) },
    { name: 'POSTGRES_SOCKET_DIR', value: '/tmp' },
  ];
}

/** A Postgres container of the app: the primary (listening on all addresses or only on loopback) or a read replica. */
export function postgresContainer(
  app: GraminstaApp,
  plan: Plan,
  opts: {
    role: 'primary' | 'replica';
    version: string;
    resources?: ResourceRequirements;
    loopbackOnly?: boolean;
    readReplicas?: number;
  },
): V1Container {
  const secret = plan.names.databaseSecret;
  const env = baseEnv(opts.version);
  env.push({ name: 'POSTGRES_LISTEN_ADDRESSES', value: opts.loopbackOnly ? '127.0.0.1' : '*' });
  if (opts.role === 'primary') {
    env.push(
      { name: 'POSTGRES_DB', value: DB_NAME },
      { name: 'POSTGRES_APP_USER', value: DB_USER },
      secretEnv('POSTGRES_APP_PASSWORD', secret, DB_SECRET_KEYS.password),
      secretEnv('POSTGRES_REPLICATION_PASSWORD', secret, DB_SECRET_KEYS.replicationPassword),
      { name: 'POSTGRES_MAX_WAL_SENDERS', value: String(Math.max(10, (opts.readReplicas ?? 0) + 2)) },
    );
  } else {
    env.push(
      { name: 'POSTGRES_PRIMARY_HOST', value: serviceHost(app, plan.names.databaseRw) },
      { name: 'POSTGRES_PRIMARY_PORT', value: String(POSTGRES_PORT) },
      secretEnv('POSTGRES_REPLICATION_PASSWORD', secret, DB_SECRET_KEYS.replicationPassword),
    );
  }
  const script = opts.role === 'primary' ? SCRIPT_FILES.postgresPrimary : SCRIPT_FILES.postgresReplica;
  return {
    name: 'postgres',
    image: postgresImage(opts.version),
    imagePullPolicy: 'IfNotPresent',
    command: ['sh', `${SCRIPTS_DIR}/${script}`],
    env,
    ports: [{ name: 'postgres', containerPort: POSTGRES_PORT, protocol: 'TCP' }],
    resources: resourcesFor('postgres', opts.resources),
    securityContext: containerSecurityContext(POSTGRES_UID),
    volumeMounts: [TMP_MOUNT, SCRIPTS_MOUNT, { name: 'data', mountPath: POSTGRES_DATA_DIR }],
    // A replica's first start clones the primary (pg_basebackup), which can take long on a big database.
    startupProbe: pgIsReady(5, opts.role === 'primary' ? 120 : 720),
    readinessProbe: pgIsReady(5, 2),
    livenessProbe: pgIsReady(10, 6),
  };
}

/** The volume claim template of a StatefulSet's data volume. */
export function dataClaim(name: string, size: string, storageClassName?: string): V1PersistentVolumeClaim {
  const claim: V1PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
  };
  if (storageClassName) claim.spec!.storageClassName = storageClassName;
  return claim;
}

/** A StatefulSet with stable settings shared by every StatefulSet of the app. */
export function statefulSet(
  app: GraminstaApp,
  opts: {
    name: string;
    component: Component;
    serviceName: string;
    replicas: number;
    hash: string;
    spec: ReturnType<typeof podSpec>;
    claims: V1PersistentVolumeClaim[];
    parallel?: boolean;
  },
): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: objectMeta(app, opts.name, opts.component),
    spec: {
      replicas: opts.replicas,
      serviceName: opts.serviceName,
      podManagementPolicy: opts.parallel ? 'Parallel' : 'OrderedReady',
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(app, opts.component) },
      updateStrategy: { type: 'RollingUpdate' },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: {
        metadata: {
          labels: labels(app, opts.component),
          annotations: { [CONFIG_HASH_ANNOTATION]: opts.hash },
        },
        spec: opts.spec,
      },
      volumeClaimTemplates: opts.claims,
    },
  };
}

/** The primary's StatefulSet (one pod); null unless Postgres runs in its own StatefulSet. */
export function renderDatabaseStatefulSet(app: GraminstaApp, ctx: RenderContext): V1StatefulSet | null {
  const plan = planOf(app, ctx);
  const db = plan.database;
  if (db.mode !== 'in-cluster') return null;
  const hash = configHash(
    [scriptsSubset(app, [SCRIPT_FILES.postgresPrimary])],
    [plan.names.databaseSecret],
    renderGeneratedSecrets(app, ctx),
    ctx,
  );
  return primaryStatefulSet(app, plan, db, hash, {
    containers: [
      postgresContainer(app, plan, {
        role: 'primary',
        version: db.version,
        resources: db.resources,
        readReplicas: db.readReplicas,
      }),
    ],
  });
}

/**
 * The StatefulSet `<app>-db` that runs the primary, alone or with the API in the single-machine pod: its name,
 * Service and volume claim are the same in both, so moving between the two keeps the database volume.
 */
export function primaryStatefulSet(
  app: GraminstaApp,
  plan: Plan,
  db: Exclude<DatabasePlan, { mode: 'external' }>,
  hash: string,
  pod: Pick<Parameters<typeof podSpec>[0], 'initContainers' | 'containers'>,
): V1StatefulSet {
  return statefulSet(app, {
    name: plan.names.database,
    component: 'database',
    serviceName: plan.names.databaseHeadless,
    replicas: 1,
    hash,
    spec: podSpec({ uid: POSTGRES_UID, ...pod, volumes: [scriptsVolume(app)] }),
    claims: [dataClaim('data', db.size, db.storageClassName)],
  });
}

/** The headless Service that names the primary's pod (also of the single-machine pod); null with an external database. */
export function renderDatabaseHeadlessService(app: GraminstaApp): V1Service | null {
  const plan = planOf(app);
  if (plan.database.mode === 'external') return null;
  return service(app, {
    name: plan.names.databaseHeadless,
    component: 'database',
    selector: 'database',
    ports: [POSTGRES_SERVICE_PORT],
    headless: true,
  });
}

/** The -rw Service in front of the primary; null unless Postgres runs in its own StatefulSet. */
export function renderDatabaseRwService(app: GraminstaApp): V1Service | null {
  const plan = planOf(app);
  if (plan.database.mode !== 'in-cluster') return null;
  return service(app, {
    name: plan.names.databaseRw,
    component: 'database',
    selector: 'database',
    ports: [POSTGRES_SERVICE_PORT],
  });
}

/** The read replicas' StatefulSet, streaming from the primary; null without read replicas. */
export function renderDatabaseReplicaStatefulSet(
  app: GraminstaApp,
  ctx: RenderContext,
): V1StatefulSet | null {
  const plan = planOf(app, ctx);
  const db = plan.database;
  if (db.mode !== 'in-cluster' || db.readReplicas === 0) return null;
  const hash = configHash(
    [scriptsSubset(app, [SCRIPT_FILES.postgresReplica])],
    [plan.names.databaseSecret],
    renderGeneratedSecrets(app, ctx),
    ctx,
  );
  return statefulSet(app, {
    name: plan.names.databaseReplica,
    component: 'database-replica',
    serviceName: plan.names.databaseReplicaHeadless,
    replicas: db.readReplicas,
    hash,
    parallel: true,
    spec: podSpec({
      uid: POSTGRES_UID,
      containers: [
        postgresContainer(app, plan, { role: 'replica', version: db.version, resources: db.resources }),
      ],
      volumes: [scriptsVolume(app)],
      spreadLabels: selectorLabels(app, 'database-replica'),
    }),
    claims: [dataClaim('data', db.size, db.storageClassName)],
  });
}

/** The headless Service that names the replicas' pods; null without read replicas. */
export function renderDatabaseReplicaHeadlessService(app: GraminstaApp): V1Service | null {
  const plan = planOf(app);
  if (plan.database.mode !== 'in-cluster' || plan.database.readReplicas === 0) return null;
  return service(app, {
    name: plan.names.databaseReplicaHeadless,
    component: 'database-replica',
    selector: 'database-replica',
    ports: [POSTGRES_SERVICE_PORT],
    headless: true,
  });
}

/** The -ro Service in front of the read replicas; null without read replicas. */
export function renderDatabaseRoService(app: GraminstaApp): V1Service | null {
  const plan = planOf(app);
  if (plan.database.mode !== 'in-cluster' || plan.database.readReplicas === 0) return null;
  return service(app, {
    name: plan.names.databaseRo,
    component: 'database-replica',
    selector: 'database-replica',
    ports: [POSTGRES_SERVICE_PORT],
  });
}

/** The read replicas' PodDisruptionBudget; null unless there are at least two (the primary, one pod, never gets one). */
export function renderDatabaseReplicaPdb(app: GraminstaApp): V1PodDisruptionBudget | null {
  const plan = planOf(app);
  if (plan.database.mode !== 'in-cluster') return null;
  return pdb(app, plan.names.databaseReplica, 'database-replica', plan.database.readReplicas);
}
