// Ports, paths and fixed names that the builders and the service agree on.

/** Port every mode of the photo service listens on. */
export const SERVICE_PORT = 8080;
/** Port of every service-image container's metrics listener (GRAMINSTA_METRICS_PORT): never in a Service. */
export const METRICS_PORT = 9090;
/** Port of the Postgres metrics sidecar (postgres_exporter's usual port). */
export const POSTGRES_EXPORTER_PORT = 9187;
/** Port of the Redis metrics sidecar (redis_exporter's usual port). */
export const REDIS_EXPORTER_PORT = 9121;
/** Postgres port. */
export const POSTGRES_PORT = 5432;
/** Redis port. */
export const REDIS_PORT = 6379;
/** Directory of images in origin mode (on the origin's volume) and in the single-machine pod (on the database volume, mounted at /data). */
export const IMAGES_PATH = '/data/images';
/** Where the API container of the single pod mounts the database volume; images go to its images/ directory. */
export const SINGLE_MACHINE_DATA_DIR = '/data';
/** Where the database volume is mounted in Postgres containers; PGDATA is a subdirectory of it. */
export const POSTGRES_DATA_DIR = '/var/lib/postgresql/data';
/** Database name of the in-cluster Postgres. */
export const DB_NAME = 'graminsta';
/** The application role of the in-cluster Postgres. */
export const DB_USER = 'graminsta';
/** Where the scripts ConfigMap is mounted in the containers that run them. */
export const SCRIPTS_DIR = '/scripts';

/**
 * Seconds a finished Job (with its pod and logs) is kept before Kubernetes deletes it (ttlSecondsAfterFinished): a
 * day to read a failure's logs. The reconciler records a success in status.completedJobs first, so a Job deleted
 * after it succeeded is never run again.
 */
export const JOB_TTL_SECONDS = 86_400;

/**
 * Seconds a Job may run, retries included, before Kubernetes fails it (activeDeadlineSeconds, reason DeadlineExceeded;
 * the reconciler then runs it again, JOB_ATTEMPTS times in all): an hour for a migration or forming the Redis Cluster
 * (both wait for their database first), six for copying every photo to another store.
 */
export const JOB_DEADLINE_SECONDS = { migrate: 3_600, redisInit: 3_600, imageMove: 21_600 } as const;

/** Keys of the database's CA Secret (<app>-db-ca): the CA certificate and its private key, PEM. */
export const DB_CA_KEYS = { cert: 'ca.crt', key: 'ca.key' } as const;

/** Keys of the database's server certificate Secret (<app>-db-tls, type kubernetes.io/tls), PEM. */
export const DB_TLS_KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

/** Loopback: clients in the Postgres pod itself (the single-machine API, the metrics sidecar); always admitted over TLS. */
export const LOOPBACK_CIDRS = ['127.0.0.1/32', '::1/128'] as const;

/** Keys of the user's external database Secret (as documented on spec.database.external.secretName). */
export const EXTERNAL_DB_KEYS = {
  host: 'host',
  port: 'port',
  database: 'database',
  user: 'user',
  password: 'password',
  sslmode: 'sslmode',
  replicaHosts: 'replicaHosts',
} as const;

/** The sslmode values the service supports (service/db/tls.ts), for the external database Secret's sslmode key. */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

/** The keys an external database Secret must have. */
export const REQUIRED_EXTERNAL_DB_KEYS = [EXTERNAL_DB_KEYS.host, EXTERNAL_DB_KEYS.password] as const;

/** The keys a credentials Secret of a bucket must have (spec.database.backup and restoreFrom). */
export const BACKUP_CREDENTIAL_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
