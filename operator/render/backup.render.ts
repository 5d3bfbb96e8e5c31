// Backups and restore of the in-cluster database (spec.database.backup, spec.database.restoreFrom): the CronJob whose
// pod dumps Postgres into a pipe that the photo service streams to the bucket, and the primary's init container that
// fetches a backup onto an empty volume for postgres-primary.sh to load (docs/adr/0011-database-backups.md).
import type { V1Container, V1CronJob, V1EnvVar, V1VolumeMount } from '@kubernetes/client-node';
import { DB_NAME, DB_TLS_KEYS, DB_USER, JOB_TTL_SECONDS, POSTGRES_DATA_DIR, POSTGRES_PORT } from './constants.render.js';
import { secretEnv } from './env.render.js';
import { storeEnv } from './images.render.js';
import { labels, objectMeta, serviceHost } from './names.render.js';
import { DB_SECRET_KEYS, type BackupBucket, type Plan } from './plan.render.js';
import { SCRIPT_FILES, SCRIPTS_MOUNT, scriptCommand, scriptsVolume } from './scripts-configmap.render.js';
import { containerSecurityContext, POSTGRES_UID } from './security.render.js';
import { podSpec, serviceContainer, TMP_MOUNT } from './workload.render.js';

/** Where the backup pod's containers share the dump pipe. */
const BACKUP_DIR = '/backup';
const BACKUP_MOUNT: V1VolumeMount = { name: 'backup', mountPath: BACKUP_DIR };
/** Where the primary's restore step leaves the fetched backup: beside PGDATA on the data volume. */
export const RESTORE_DIR = `${POSTGRES_DATA_DIR}/restore`;
/** Seconds one backup may take, retries included. */
export const BACKUP_DEADLINE_SECONDS = 21_600;

/** The service's settings for a bucket of backups: the S3 store settings and the key prefix. */
function bucketEnv(plan: Plan, s3: BackupBucket): V1EnvVar[] {
  const store = storeEnv(plan, { kind: 's3', bucket: s3.bucket, region: s3.region, ...(s3.endpoint ? { endpoint: s3.endpoint } : {}), ...(s3.credentialsSecret ? { credentialsSecret: s3.credentialsSecret } : {}) }, 'GRAMINSTA_');
  return [...store, { name: 'GRAMINSTA_BACKUP_PREFIX', value: s3.prefix }];
}

/** The host backups dump from: the -rw Service, or the single-machine pod through its headless Service. */
function primaryHost(plan: Plan): string {
  const { names } = plan;
  return serviceHost(names, plan.database.placement === 'embedded' ? names.databaseHeadless : names.databaseRw);
}

/** The backup CronJob `<app>-backup`; null without spec.database.backup. */
export function renderBackupCronJob(plan: Plan): V1CronJob | null {
  const db = plan.database;
  if (db.placement === 'external' || !db.backup) return null;
  const backup = db.backup;
  const dump: V1Container = {
    name: 'dump',
    image: plan.images.postgres!,
    imagePullPolicy: 'IfNotPresent',
    command: scriptCommand(SCRIPT_FILES.postgresBackup),
    env: [
      { name: 'POSTGRES_BIN_DIR', value: `/usr/lib/postgresql/${db.version}/bin` },
      { name: 'POSTGRES_HOST', value: primaryHost(plan) },
      { name: 'POSTGRES_PORT', value: String(POSTGRES_PORT) },
      { name: 'POSTGRES_DB', value: DB_NAME },
      { name: 'POSTGRES_APP_USER', value: DB_USER },
      secretEnv('POSTGRES_APP_PASSWORD', plan.names.databaseSecret, DB_SECRET_KEYS.password),
      { name: 'POSTGRES_BACKUP_DIR', value: BACKUP_DIR },
      // The server's CA: the dump connects with TLS (verify-full), as every client of the in-cluster Postgres does.
      ...(plan.databaseTls ? [secretEnv('POSTGRES_TLS_CA', plan.databaseTls.serverSecret, DB_TLS_KEYS.ca)] : []),
    ],
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    securityContext: containerSecurityContext(POSTGRES_UID),
    volumeMounts: [TMP_MOUNT, SCRIPTS_MOUNT, BACKUP_MOUNT],
  };
  const retention: V1EnvVar[] = backup.retention
    ? [{ name: 'count' in backup.retention ? 'GRAMINSTA_BACKUP_RETENTION_COUNT' : 'GRAMINSTA_BACKUP_RETENTION_DAYS', value: String('count' in backup.retention ? backup.retention.count : backup.retention.days) }]
    : [];
  const upload = serviceContainer({
    name: 'upload',
    mode: 'backup',
    image: plan.images.service,
    kind: 'migrate',
    env: [...bucketEnv(plan, backup.s3), ...retention, { name: 'GRAMINSTA_BACKUP_DIR', value: BACKUP_DIR }, { name: 'GRAMINSTA_DB_NAME', value: DB_NAME }, { name: 'LOG_LEVEL', value: 'info' }],
    mounts: [BACKUP_MOUNT],
  });
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: objectMeta(plan.names, plan.names.backup, 'backup'),
    spec: {
      schedule: backup.schedule,
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      // A schedule missed by more than an hour (the controller was down) is skipped, not run late in a burst.
      startingDeadlineSeconds: 3600,
      suspend: backup.suspend,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels: labels(plan.names, 'backup') },
        spec: {
          // Each try is a new pod: the two containers' pipe cannot be resumed by restarting one of them.
          backoffLimit: 2,
          activeDeadlineSeconds: BACKUP_DEADLINE_SECONDS,
          ttlSecondsAfterFinished: JOB_TTL_SECONDS,
          template: {
            metadata: { labels: labels(plan.names, 'backup') },
            spec: podSpec({
              uid: POSTGRES_UID,
              restartPolicy: 'Never',
              containers: [dump, upload],
              volumes: [scriptsVolume(plan), { name: 'backup', emptyDir: { sizeLimit: '1Mi' } }],
            }),
          },
        },
      },
    },
  };
}

/**
 * The primary's first init container when the spec restores from a backup: the photo service in restore mode
 * fetches the backup beside PGDATA when the volume holds no database (and only then); null without restoreFrom.
 */
export function restoreContainer(plan: Plan): V1Container | null {
  const db = plan.database;
  if (db.placement === 'external' || !db.restore) return null;
  return serviceContainer({
    name: 'restore',
    mode: 'restore',
    image: plan.images.service,
    kind: 'migrate',
    env: [
      ...bucketEnv(plan, db.restore.s3),
      { name: 'GRAMINSTA_RESTORE_BACKUP', value: db.restore.backup },
      { name: 'GRAMINSTA_RESTORE_PGDATA', value: `${POSTGRES_DATA_DIR}/pgdata` },
      { name: 'GRAMINSTA_RESTORE_DIR', value: RESTORE_DIR },
      { name: 'LOG_LEVEL', value: 'info' },
    ],
    mounts: [{ name: 'data', mountPath: POSTGRES_DATA_DIR }],
  });
}
