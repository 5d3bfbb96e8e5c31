// Every name and label of the objects rendered for one app comes from here.
import type { V1LabelSelectorRequirement } from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';

/** The app.kubernetes.io/component values of the rendered objects. */
export type Component =
  | 'api'
  | 'web'
  | 'database'
  | 'database-replica'
  | 'cache'
  | 'cache-standalone'
  | 'cache-init'
  | 'origin'
  | 'migrate'
  | 'backup'
  | 'ingress'
  | 'monitoring'
  | 'config';

/** The field manager and managed-by label value of this operator. */
export const MANAGED_BY = 'graminsta-operator';

/** The app.kubernetes.io/name label of every object and pod of an app (one of the selector labels). */
export const APP_NAME = 'graminsta';

/**
 * The label selector of the claims of the app's StatefulSets. The StatefulSet controller labels each claim it
 * creates from a volumeClaimTemplate with the StatefulSet's selector labels (getPersistentVolumeClaims in
 * pkg/controller/statefulset), so every claim, old or new, carries this one; the templates themselves stay
 * unlabelled, as a change to them would re-create every existing StatefulSet.
 */
export const CLAIM_SELECTOR = `app.kubernetes.io/name=${APP_NAME}`;

/** Annotation on pod templates: hash of the configuration (ConfigMaps and Secrets) the pod reads. */
export const CONFIG_HASH_ANNOTATION = 'graminsta.io/config-hash';

/** Annotation on a generated Secret: the reconciler creates it once if absent and never updates it. */
export const GENERATED_SECRET_ANNOTATION = 'graminsta.io/generated';

/** Annotation on a workload: the reconciler applies it only once the named Job has completed. */
export const AFTER_JOB_ANNOTATION = 'graminsta.io/after-job';

/**
 * Annotation on a desired object: the reconciler applies it only after a phase of the app's move between stages.
 * `ready`: every other workload has rolled out (e.g. a copy between two stores that must both run);
 * `switched`: traffic has switched to the new pods and settled (e.g. copying what the old pods took in meanwhile).
 */
export const APPLY_AFTER_ANNOTATION = 'graminsta.io/apply-after';

/** The values of APPLY_AFTER_ANNOTATION. */
export type ApplyAfter = 'ready' | 'switched';

/** Longest app name the CRD admits; every child name stays a valid DNS label with it. */
export const MAX_APP_NAME_LENGTH = 40;

/** The names of every object an app can own, derived from the app's name. */
export interface AppNames {
  app: string;
  namespace: string;
  api: string;
  web: string;
  ingress: string;
  /** The HTTPRoute of spec.ingress.apiHost (with gatewayRef); the web side's route is named like the Ingress. */
  apiRoute: string;
  database: string;
  databaseHeadless: string;
  databaseRw: string;
  databaseReplica: string;
  databaseReplicaHeadless: string;
  databaseRo: string;
  databaseSecret: string;
  /** The database's certificate authority (ca.crt, ca.key): read and written by the operator only, mounted nowhere. */
  databaseCa: string;
  /** The database server's certificate (tls.crt, tls.key) and the CA certificate clients verify it with (ca.crt). */
  databaseTls: string;
  redis: string;
  redisHeadless: string;
  /** The standalone Redis StatefulSet and Service (cache.shards 1); the cluster's are `redis`, so both live while keys move between them. */
  redisStandalone: string;
  redisSecret: string;
  origin: string;
  originHeadless: string;
  originSecret: string;
  tokenSecret: string;
  scripts: string;
  apiConfig: string;
  webConfig: string;
  originConfig: string;
  migratePrefix: string;
  redisInitPrefix: string;
  redisCopyPrefix: string;
  /** The backup CronJob (spec.database.backup); its Jobs are <app>-backup-<schedule time>. */
  backup: string;
}

/** Names of all child objects of an app; throws when the app has no usable name or namespace. */
export function appNames(app: GraminstaApp): AppNames {
  const name = app.metadata.name;
  const namespace = app.metadata.namespace;
  if (!name) throw new Error('metadata.name: required');
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > MAX_APP_NAME_LENGTH) {
    throw new Error(
      `metadata.name: "${name}" must be a DNS-1035 label of at most ${MAX_APP_NAME_LENGTH} characters`,
    );
  }
  if (!namespace) throw new Error('metadata.namespace: required');
  return {
    app: name,
    namespace,
    api: `${name}-api`,
    web: `${name}-web`,
    ingress: name,
    apiRoute: `${name}-api`,
    database: `${name}-db`,
    databaseHeadless: `${name}-db-headless`,
    databaseRw: `${name}-db-rw`,
    databaseReplica: `${name}-db-replica`,
    databaseReplicaHeadless: `${name}-db-replica-headless`,
    databaseRo: `${name}-db-ro`,
    databaseSecret: `${name}-db`,
    databaseCa: `${name}-db-ca`,
    databaseTls: `${name}-db-tls`,
    redis: `${name}-redis`,
    redisHeadless: `${name}-redis-headless`,
    redisStandalone: `${name}-redis-standalone`,
    redisSecret: `${name}-redis`,
    origin: `${name}-origin`,
    originHeadless: `${name}-origin-headless`,
    originSecret: `${name}-origin`,
    tokenSecret: `${name}-token`,
    scripts: `${name}-scripts`,
    apiConfig: `${name}-api-config`,
    webConfig: `${name}-web-config`,
    originConfig: `${name}-origin-config`,
    migratePrefix: `${name}-migrate-`,
    redisInitPrefix: `${name}-redis-init-`,
    redisCopyPrefix: `${name}-redis-copy-`,
    backup: `${name}-backup`,
  };
}

/** The labels that select a component's pods; they never change for the life of the app. */
export function selectorLabels(names: AppNames, component: Component): Record<string, string> {
  return { 'app.kubernetes.io/name': APP_NAME, 'app.kubernetes.io/instance': names.app, 'app.kubernetes.io/component': component };
}

/** A selector of the pods of any of `components` of the app. */
export function componentsSelector(names: AppNames, components: readonly Component[]): { matchLabels: Record<string, string>; matchExpressions: V1LabelSelectorRequirement[] } {
  return {
    matchLabels: { 'app.kubernetes.io/name': APP_NAME, 'app.kubernetes.io/instance': names.app },
    matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: [...components] }],
  };
}

/** The full app.kubernetes.io label set of a component's objects and pods. */
export function labels(names: AppNames, component: Component): Record<string, string> {
  return {
    ...selectorLabels(names, component),
    'app.kubernetes.io/part-of': 'graminsta',
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

/** The label naming the version of the app: the photo service's (serviceVersion). */
export const VERSION_LABEL = 'app.kubernetes.io/version';

/**
 * The app.kubernetes.io/version of an app running the service image `image`: its tag, else the first 12 hex
 * digits of its digest, else latest; cut to a valid label value (63 characters, alphanumeric at both ends).
 */
export function serviceVersion(image: string): string {
  const [ref, digest] = image.split('@');
  const lastSlash = ref!.lastIndexOf('/');
  const colon = ref!.indexOf(':', lastSlash + 1);
  const tag = colon === -1 ? '' : ref!.slice(colon + 1);
  const raw = tag || (digest ? digest.replace(/^sha256:/, '').slice(0, 12) : 'latest');
  const value = raw.slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return value || 'latest';
}

/** The metadata every rendered object carries: name, namespace and the component's labels. */
export function objectMeta(
  names: AppNames,
  name: string,
  component: Component,
  annotations?: Record<string, string>,
): { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> } {
  const meta = { name, namespace: names.namespace, labels: labels(names, component) };
  return annotations && Object.keys(annotations).length > 0 ? { ...meta, annotations } : meta;
}

/** In-cluster DNS name of a Service of the app (namespace-qualified, independent of the cluster domain). */
export function serviceHost(names: AppNames, service: string): string {
  return `${service}.${names.namespace}.svc`;
}
