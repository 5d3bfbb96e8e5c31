// The GraminstaApp CRD, written once: hack/gen-api.ts turns it into crds/*.yaml and types.gen.ts.
import { IMAGE_REFERENCE_PATTERN, MAX_IMAGE_LENGTH } from './images.api.js';

/** A node of an OpenAPI v3 structural schema, plus TypeScript-only hints that the CRD never sees. */
export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description: string;
  format?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  required?: string[];
  enum?: (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  maxItems?: number;
  maxProperties?: number;
  anyOf?: { type: string }[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: CelRule[];
  /** TypeScript-only: the interface name generated for this object node. */
  tsName?: string;
  /** TypeScript-only: a type imported from @kubernetes/client-node used instead of a generated one. */
  tsClientType?: string;
}

/** One CEL validation rule (`x-kubernetes-validations` entry). */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** API group of the custom resource. */
export const GROUP = 'graminsta.io';
/** API version of the custom resource. */
export const VERSION = 'v1alpha1';
/** Kind of the custom resource. */
export const KIND = 'GraminstaApp';
/** Plural resource name of the custom resource. */
export const PLURAL = 'graminstaapps';
/** Singular resource name of the custom resource. */
export const SINGULAR = 'graminstaapp';
/** Short names accepted by kubectl. */
export const SHORT_NAMES = ['gapp', 'graminsta'];
/** The six stages, smallest first. */
export const STAGES = [
  'single-machine',
  'split-database',
  'split-clients',
  'load-balanced',
  'cdn',
  'data-layer',
] as const;
/** One of the six stages. */
export type Stage = (typeof STAGES)[number];

// Kubernetes' own resource.Quantity pattern (apimachinery), anchored.
const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
// A DNS-1123 subdomain (object names such as Secrets and StorageClasses).
const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
// A fully qualified host name, optionally a single leading wildcard label (as Ingress allows).
const HOST_PATTERN = '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$';
// An absolute http(s) URL: scheme, host, optional port and path; no query or fragment.
const HTTP_URL_PATTERN =
  "^https?://[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?$";
// An OCI image reference (images.api.ts), or empty for the operator's default.
const IMAGE_PATTERN = `^$|${IMAGE_REFERENCE_PATTERN}`;

function image(description: string): SchemaNode {
  return { type: 'string', description, maxLength: MAX_IMAGE_LENGTH, pattern: IMAGE_PATTERN };
}

function quantity(description: string): SchemaNode {
  return {
    description,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: QUANTITY_PATTERN,
    maxLength: 64,
    'x-kubernetes-int-or-string': true,
  };
}

function secretName(description: string): SchemaNode {
  return { type: 'string', description, minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN };
}

function replicas(description: string, maximum = 100): SchemaNode {
  return { type: 'integer', format: 'int32', description, minimum: 0, maximum };
}

function resourceList(what: 'limits' | 'requests'): SchemaNode {
  return {
    type: 'object',
    description:
      what === 'limits'
        ? 'Maximum amount of compute resources allowed, by resource name (e.g. cpu: 500m, memory: 512Mi).'
        : 'Minimum amount of compute resources required, by resource name (e.g. cpu: 100m, memory: 128Mi). Defaults to the limits when omitted.',
    maxProperties: 16,
    additionalProperties: quantity('A resource quantity such as 250m, 1, 512Mi or 2Gi.'),
  };
}

const resources: SchemaNode = {
  type: 'object',
  tsName: 'ResourceRequirements',
  description:
    'Compute resources of the containers of this tier (core/v1 ResourceRequirements: limits and requests). Omitted: the stage preset.',
  properties: {
    limits: resourceList('limits'),
    requests: resourceList('requests'),
  },
  'x-kubernetes-validations': [
    {
      rule: '!has(self.limits) || !has(self.requests) || self.requests.all(k, !(k in self.limits) || quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)',
      message: 'each request must be less than or equal to its limit',
      fieldPath: '.requests',
      reason: 'FieldValueInvalid',
    },
  ],
};

function autoscaling(tier: 'API' | 'web'): SchemaNode {
  return {
    type: 'object',
    tsName: 'AutoscalingSpec',
    description: `Scales the ${tier} Deployment with an autoscaling/v2 HorizontalPodAutoscaler; when set, replicas is ignored and the operator never writes the Deployment's spec.replicas. An empty object uses the stage preset's bounds.`,
    properties: {
      minReplicas: {
        type: 'integer',
        format: 'int32',
        description:
          'Lower bound of the replica count chosen by the autoscaler. Must not exceed maxReplicas.',
        minimum: 1,
        maximum: 1000,
      },
      maxReplicas: {
        type: 'integer',
        format: 'int32',
        description: 'Upper bound of the replica count chosen by the autoscaler.',
        minimum: 1,
        maximum: 1000,
      },
      targetCPUUtilizationPercentage: {
        type: 'integer',
        format: 'int32',
        description: 'Average CPU utilization, in percent of the CPU request, that the autoscaler aims for.',
        minimum: 1,
        maximum: 100,
        default: 70,
      },
      behavior: {
        type: 'object',
        tsClientType: 'V2HorizontalPodAutoscalerBehavior',
        description:
          'Scale-up and scale-down policies, passed unchanged to the HorizontalPodAutoscaler (autoscaling/v2 HorizontalPodAutoscalerBehavior).',
        'x-kubernetes-preserve-unknown-fields': true,
      },
    },
    'x-kubernetes-validations': [
      {
        rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
        message: 'minReplicas must be less than or equal to maxReplicas',
        fieldPath: '.minReplicas',
        reason: 'FieldValueInvalid',
      },
    ],
  };
}

function storage(what: string, example: string, classDefault = 'the cluster default StorageClass'): SchemaNode {
  return {
    type: 'object',
    tsName: 'StorageSpec',
    description: `Persistent volume of ${what}.`,
    properties: {
      size: {
        ...quantity(
          `Requested size of the volume, a quantity such as ${example}; it can grow but never shrink.`,
        ),
        'x-kubernetes-validations': [
          {
            rule: 'quantity(string(self)).compareTo(quantity(string(oldSelf))) >= 0',
            message: 'size can not shrink (a volume can only be expanded)',
            reason: 'FieldValueInvalid',
          },
        ],
      },
      storageClassName: {
        type: 'string',
        description:
          `StorageClass of the volume claim; empty or omitted uses ${classDefault}. Immutable once set.`,
        maxLength: 253,
        pattern: '^$|' + DNS_SUBDOMAIN_PATTERN,
        'x-kubernetes-validations': [
          { rule: 'self == oldSelf', message: 'storageClassName is immutable', reason: 'FieldValueInvalid' },
        ],
      },
    },
  };
}

function rateLimit(action: string, defaults: { perIP: number; perAccount?: number; windowSeconds: number }): SchemaNode {
  const properties: Record<string, SchemaNode> = {
    perIP: {
      type: 'integer',
      format: 'int32',
      description: `${action} allowed per client IP address within windowSeconds; 0 removes this limit. Omitted: ${defaults.perIP}.`,
      minimum: 0,
      maximum: 1000000,
    },
  };
  if (defaults.perAccount !== undefined) {
    properties.perAccount = {
      type: 'integer',
      format: 'int32',
      description: `${action} allowed per account within windowSeconds; 0 removes this limit. Omitted: ${defaults.perAccount}.`,
      minimum: 0,
      maximum: 1000000,
    };
  }
  properties.windowSeconds = {
    type: 'integer',
    format: 'int32',
    description: `Length of the fixed window the counts are kept for, in seconds. Omitted: ${defaults.windowSeconds}.`,
    minimum: 1,
    maximum: 86400,
  };
  return {
    type: 'object',
    tsName: defaults.perAccount === undefined ? 'RateLimitPerIPSpec' : 'RateLimitSpec',
    description: `Limits on ${action.toLowerCase()}; each field omitted keeps its default.`,
    properties,
  };
}

const rateLimits: SchemaNode = {
  type: 'object',
  tsName: 'RateLimitsSpec',
  description:
    'Per client IP and per account limits on log-ins, sign-ups and upload slots (429 with Retry-After once exceeded), counted in Redis when the cache tier runs and in each API process otherwise. Omitted: on, with the defaults below.',
  properties: {
    enabled: {
      type: 'boolean',
      description: 'Whether the API enforces the limits. Omitted: true.',
    },
    trustedProxyHops: {
      type: 'integer',
      format: 'int32',
      description:
        'How many proxies in front of the API append to X-Forwarded-For, so that the per-IP limits count the client and not the proxy. Omitted: 1 when the app has an Ingress (the ingress controller), else 0 (clients reach the API Service directly and the header is not trusted). Never set it higher than the proxies you run: clients can write the header themselves.',
      minimum: 0,
      maximum: 5,
    },
    login: rateLimit('Log-in attempts (POST /api/v1/sessions, counted before the password is checked)', { perIP: 30, perAccount: 10, windowSeconds: 60 }),
    signup: rateLimit('Sign-ups (POST /api/v1/users)', { perIP: 10, windowSeconds: 3600 }),
    uploads: rateLimit('Upload slots (POST /api/v1/uploads)', { perIP: 120, perAccount: 60, windowSeconds: 60 }),
  },
  'x-kubernetes-validations': [
    {
      rule: '!has(self.enabled) || self.enabled || !(has(self.login) || has(self.signup) || has(self.uploads) || has(self.trustedProxyHops))',
      message: 'login, signup, uploads and trustedProxyHops have no effect while enabled is false: remove them or set enabled to true',
      fieldPath: '.enabled',
      reason: 'FieldValueInvalid',
    },
  ],
};

const api: SchemaNode = {
  type: 'object',
  tsName: 'ApiSpec',
  description: 'The API tier: the photo service in api mode, a Deployment behind a Service.',
  properties: {
    replicas: replicas(
      'Number of API pods when autoscaling is absent (this is the field `kubectl scale` changes). Setting it without autoscaling also switches off the autoscaling preset.',
      1000,
    ),
    autoscaling: autoscaling('API'),
    rateLimits,
    resources,
  },
};

const web: SchemaNode = {
  type: 'object',
  tsName: 'WebSpec',
  description:
    'The web client tier: the photo service in web mode, its own Deployment and Service (from stage split-clients on).',
  properties: {
    enabled: {
      type: 'boolean',
      description:
        'Whether the web client runs as its own tier. Omitted: true from stage split-clients on, or whenever other web fields are set.',
    },
    replicas: replicas('Number of web pods when autoscaling is absent.', 1000),
    autoscaling: autoscaling('web'),
    resources,
  },
};

const ingress: SchemaNode = {
  type: 'object',
  tsName: 'IngressSpec',
  description:
    'An Ingress in front of the API and web tiers (from stage load-balanced on), or with gatewayRef Gateway API HTTPRoutes instead. Without hosts, one host-less Ingress (or HTTPRoute) routes /api to the API and everything else to web.',
  properties: {
    enabled: {
      type: 'boolean',
      description:
        'Whether the Ingress exists. Omitted: true from stage load-balanced on, or whenever other ingress fields are set.',
    },
    className: {
      type: 'string',
      description:
        'IngressClass that implements the Ingress; omitted uses the cluster default IngressClass. It also picks the request body size annotations the Ingress gets for uploads (docs/rendering.md). Not with gatewayRef.',
      maxLength: 253,
      pattern: DNS_SUBDOMAIN_PATTERN,
    },
    gatewayRef: {
      type: 'object',
      tsName: 'GatewayRefSpec',
      description:
        'A Gateway API Gateway to attach gateway.networking.k8s.io/v1 HTTPRoutes to, instead of rendering an Ingress (same routes). Needs the Gateway API CRDs in the cluster; the Gateway\'s listeners terminate TLS, so className and tls do not go with it.',
      required: ['name'],
      properties: {
        name: {
          type: 'string',
          description: 'Name of the Gateway.',
          minLength: 1,
          maxLength: 253,
          pattern: DNS_SUBDOMAIN_PATTERN,
        },
        namespace: {
          type: 'string',
          description:
            "Namespace of the Gateway; omitted: the app's namespace. A Gateway elsewhere must allow routes from the app's namespace (its listeners' allowedRoutes).",
          minLength: 1,
          maxLength: 63,
          pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
        },
        sectionName: {
          type: 'string',
          description: 'Name of the Gateway listener to attach to; omitted: every listener that admits the routes.',
          minLength: 1,
          maxLength: 253,
          pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
        },
        scheme: {
          type: 'string',
          enum: ['http', 'https'],
          description:
            "How clients reach the Gateway's listener: https when it terminates TLS. It makes the URLs in status.endpoints and those the API hands out (uploads, images), as tls does for an Ingress. Omitted: http.",
        },
      },
    },
    apiHost: {
      type: 'string',
      description: 'Public host name of the API, e.g. api.graminsta.example.com.',
      maxLength: 253,
      pattern: HOST_PATTERN,
    },
    webHost: {
      type: 'string',
      description: 'Public host name of the web client, e.g. graminsta.example.com.',
      maxLength: 253,
      pattern: HOST_PATTERN,
    },
    tls: {
      type: 'object',
      tsName: 'IngressTLSSpec',
      description:
        'Terminates TLS for apiHost and webHost with a certificate from a Secret; needs at least one host.',
      required: ['secretName'],
      properties: {
        secretName: secretName(
          'Name of a kubernetes.io/tls Secret in the app namespace holding the certificate and key.',
        ),
      },
    },
    annotations: {
      type: 'object',
      description:
        'Annotations copied onto the Ingress (or, with gatewayRef, the HTTPRoutes), e.g. for the ingress controller, cert-manager or external-dns; they win over the body size annotations the operator renders.',
      maxProperties: 64,
      additionalProperties: { type: 'string', description: 'Annotation value.', maxLength: 4096 },
    },
  },
  'x-kubernetes-validations': [
    {
      rule: '!has(self.tls) || has(self.apiHost) || has(self.webHost)',
      message: 'tls requires apiHost or webHost',
      fieldPath: '.tls',
      reason: 'FieldValueInvalid',
    },
    {
      rule: '!has(self.gatewayRef) || (!has(self.className) && !has(self.tls))',
      message:
        'gatewayRef excludes the Ingress-only fields className and tls: the Gateway chooses the implementation and its listeners terminate TLS; remove them or gatewayRef',
      fieldPath: '.gatewayRef',
      reason: 'FieldValueForbidden',
    },
  ],
};

/** The properties of an S3-compatible bucket: the photos' (cdn.origin.s3) and the backups' (database.backup, restoreFrom). */
function s3BucketProperties(): Record<string, SchemaNode> {
  return {
    bucket: {
      type: 'string',
      description: 'Bucket name (S3 naming rules: 3-63 lowercase letters, digits, dots and hyphens).',
      minLength: 3,
      maxLength: 63,
      pattern: '^[a-z0-9][a-z0-9.-]*[a-z0-9]$',
    },
    region: {
      type: 'string',
      description: 'Region of the bucket. Omitted: us-east-1.',
      maxLength: 64,
      pattern: '^[a-z0-9]+(-[a-z0-9]+)*$',
    },
    endpoint: {
      type: 'string',
      description:
        'Endpoint URL of an S3-compatible service (MinIO, R2, ...); empty or omitted uses AWS. A custom endpoint uses path-style addressing.',
      maxLength: 2048,
      pattern: '^$|' + HTTP_URL_PATTERN,
    },
    credentialsSecret: secretName(
      'Name of a Secret in the app namespace with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Omitted: the pod identity of the cluster.',
    ),
  };
}

const cdn: SchemaNode = {
  type: 'object',
  tsName: 'CdnSpec',
  description:
    'Images in object storage, served to clients from a CDN (from stage cdn on). The API hands out upload URLs and image URLs on publicBaseURL.',
  properties: {
    enabled: {
      type: 'boolean',
      description:
        'Whether images live in object storage behind a CDN. Omitted: true from stage cdn on, or whenever other cdn fields are set.',
    },
    publicBaseURL: {
      type: 'string',
      description:
        'Absolute http(s) URL where clients load images from, e.g. https://cdn.graminsta.example.com. Omitted: images are served through the API.',
      maxLength: 2048,
      pattern: HTTP_URL_PATTERN,
    },
    origin: {
      type: 'object',
      tsName: 'CdnOriginSpec',
      description: 'Where the images are stored: exactly one of s3 or volume. Omitted: a volume origin.',
      properties: {
        s3: {
          type: 'object',
          tsName: 'S3OriginSpec',
          description: 'An S3-compatible bucket outside the cluster.',
          required: ['bucket'],
          properties: s3BucketProperties(),
        },
        volume: {
          type: 'object',
          tsName: 'VolumeOriginSpec',
          description:
            'An in-cluster origin: the photo service in origin mode, storing images on a persistent volume.',
          properties: storage('the origin', '20Gi', "the in-cluster database volume's class when set, else the cluster default StorageClass (also before stage cdn)").properties,
        },
      },
      'x-kubernetes-validations': [
        {
          rule: 'has(self.s3) != has(self.volume)',
          message: 'exactly one of s3 or volume must be set',
          reason: 'FieldValueInvalid',
        },
      ],
    },
  },
};

const EXTERNAL_EXCLUDES = ['readReplicas', 'maxReplicaLagSeconds', 'allowedCIDRs', 'storage', 'version', 'image', 'resources', 'backup', 'restoreFrom'];

// A bucket of backups: where, and with which credentials.
const backupS3: SchemaNode = {
  type: 'object',
  tsName: 'BackupS3Spec',
  description: 'An S3-compatible bucket that holds the backups: <prefix>/<name>.pgdump (pg_dump custom format) and <prefix>/<name>.json (its manifest, written once the dump is complete).',
  required: ['bucket'],
  properties: {
    ...s3BucketProperties(),
    prefix: {
      type: 'string',
      description: 'Key prefix of the backups in the bucket, e.g. graminsta/photos (path segments separated by /, no slash at either end). Omitted: the bucket\'s root.',
      maxLength: 512,
      pattern: '^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$',
    },
  },
};

const backup: SchemaNode = {
  type: 'object',
  tsName: 'DatabaseBackupSpec',
  description:
    'Scheduled logical backups (pg_dump) of the in-cluster database to S3-compatible storage, by a CronJob <app>-backup. The time of the last successful one is status.database.lastBackup; the BackupReady condition says when one failed and why.',
  required: ['schedule', 'destination'],
  properties: {
    schedule: {
      type: 'string',
      description: 'When to back up, a cron expression in UTC (five fields, e.g. "0 3 * * *"; or @hourly, @daily, @weekly, @monthly).',
      minLength: 1,
      maxLength: 128,
      pattern: '^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([0-9*/,-]+|[A-Za-z*/,-]+)( +([0-9*/,?-]+|[A-Za-z*/,?-]+)){4})$',
    },
    retention: {
      type: 'object',
      tsName: 'BackupRetentionSpec',
      description: 'Which backups are kept; after each successful backup the others are deleted (the newest is always kept). Exactly one of count or days. Omitted: every backup is kept.',
      properties: {
        count: { type: 'integer', format: 'int32', description: 'Keep the newest count backups.', minimum: 1, maximum: 10000 },
        days: { type: 'integer', format: 'int32', description: 'Keep the backups of the last days days.', minimum: 1, maximum: 36500 },
      },
      'x-kubernetes-validations': [
        { rule: 'has(self.count) != has(self.days)', message: 'set exactly one of count or days', reason: 'FieldValueInvalid' },
      ],
    },
    destination: {
      type: 'object',
      tsName: 'BackupDestinationSpec',
      description: 'Where the backups go.',
      required: ['s3'],
      properties: { s3: backupS3 },
    },
    suspend: { type: 'boolean', description: 'Stops scheduling backups (the CronJob\'s suspend); the backups made are kept.' },
  },
};

const restoreFrom: SchemaNode = {
  type: 'object',
  tsName: 'DatabaseRestoreSpec',
  description:
    'Starts a new app from a backup: on its first start, with an empty volume, the primary loads the backup before it serves (then the migrate Job runs as usual). A volume that holds a database is never overwritten: the Restored condition says so. It can stay set once the app runs.',
  required: ['s3'],
  properties: {
    s3: backupS3,
    backup: {
      type: 'string',
      description: 'The backup to restore: its name (the UTC time it started, e.g. 20261202T031500Z) or latest, the newest complete backup. Omitted: latest.',
      pattern: '^(latest|[0-9]{8}T[0-9]{6}Z)$',
      maxLength: 16,
    },
  },
};

const database: SchemaNode = {
  type: 'object',
  tsName: 'DatabaseSpec',
  description:
    'The Postgres database: in the API pod (single-machine), its own StatefulSet (from split-database on) or an external managed database.',
  properties: {
    external: {
      type: 'object',
      tsName: 'ExternalDatabaseSpec',
      description:
        'A managed database outside the cluster; excludes readReplicas, maxReplicaLagSeconds, allowedCIDRs, storage, version, image, resources, backup and restoreFrom.',
      required: ['secretName'],
      properties: {
        secretName: secretName(
          'Name of a Secret in the app namespace with the keys host and password, and optionally port, database, user, sslmode (disable, require, verify-ca or verify-full, as libpq means them; verify-ca and verify-full check the server certificate against sslRootCert, or without it the public CAs the service image trusts; omitted: verify-full with sslRootCert, else disable) and replicaHosts (comma-separated host[:port] of read replicas).',
        ),
        sslRootCert: {
          type: 'object',
          tsName: 'ExternalDatabaseCASpec',
          description:
            'The CA certificate(s) that sign the external database server\'s certificate (PEM, e.g. the provider\'s CA bundle), as a key of a Secret in the app namespace, mounted as a file into every pod that connects. With it the connections verify the server (sslmode verify-full unless the database Secret says verify-ca; disable and require are refused). The file is read again for each new connection, so a rotated bundle applies without a restart.',
          required: ['secretName'],
          properties: {
            secretName: secretName('Name of the Secret holding the CA certificate(s).'),
            key: { type: 'string', description: 'Key of the CA certificate(s) in that Secret. Omitted: ca.crt.', minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' },
          },
        },
      },
    },
    readReplicas: replicas(
      'Number of in-cluster streaming replicas; reads go to them through a -ro Service beside the -rw one.',
      15,
    ),
    maxReplicaLagSeconds: {
      type: 'integer',
      format: 'int32',
      description:
        'A read replica is taken out of the -ro Service while its replay is more than this many seconds behind, or while it does not stream from a primary that answers (a replica keeps serving while the primary is down). Omitted: 30.',
      minimum: 1,
      maximum: 86400,
    },
    allowedCIDRs: {
      type: 'array',
      description:
        'Networks whose clients the in-cluster Postgres admits over TCP (its pg_hba.conf: TLS and a password required, hostssl; connections without TLS are rejected), typically the cluster\'s pod CIDR, e.g. [10.244.0.0/16]. Loopback (clients in the Postgres pod itself) is always admitted. The NetworkPolicies (spec.networkPolicy) narrow the sources further to the app\'s pods. Omitted: the ranges that are not globally reachable (10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16, 198.18.0.0/15, fc00::/7), so public addresses are refused.',
      maxItems: 32,
      'x-kubernetes-list-type': 'atomic',
      items: { type: 'string', description: 'A CIDR such as 10.244.0.0/16 or fd00:10:244::/56.', maxLength: 64 },
      'x-kubernetes-validations': [
        { rule: 'self.all(c, isCIDR(c))', message: 'every entry must be a CIDR such as 10.244.0.0/16', reason: 'FieldValueInvalid' },
      ],
    },
    storage: storage('the in-cluster database', '10Gi'),
    version: {
      type: 'string',
      description: 'Major version of the in-cluster Postgres.',
      enum: ['15', '16', '17'],
    },
    backup,
    restoreFrom,
    image: image(
      'Image of the in-cluster Postgres (primary and replicas), e.g. for an air-gapped registry; a Debian-based postgres image of the major version in version (uid 999, binaries in /usr/lib/postgresql/<version>/bin). Empty or omitted: the operator\'s Postgres image setting (GRAMINSTA_POSTGRES_IMAGE, default docker.io/library/postgres:<version>-bookworm).',
    ),
    resources,
  },
  'x-kubernetes-validations': EXTERNAL_EXCLUDES.map((field) => ({
    rule: `!has(self.external) || !has(self.${field})`,
    message: `${field} must not be set together with external (it configures the in-cluster database)`,
    fieldPath: `.${field}`,
    reason: 'FieldValueForbidden' as const,
  })),
};

const cache: SchemaNode = {
  type: 'object',
  tsName: 'CacheSpec',
  description: 'A Redis cache in front of profile reads (cache-aside), from stage data-layer on.',
  properties: {
    enabled: {
      type: 'boolean',
      description:
        'Whether the Redis cache runs. Omitted: true at stage data-layer, or whenever other cache fields are set.',
    },
    shards: {
      type: 'integer',
      format: 'int32',
      description: '1 runs a standalone Redis; 3 or more run a Redis Cluster with that many primaries.',
      minimum: 1,
      maximum: 64,
      'x-kubernetes-validations': [
        {
          rule: 'self == 1 || self >= 3',
          message: 'shards must be 1 (standalone) or at least 3 (Redis Cluster)',
          reason: 'FieldValueInvalid',
        },
      ],
    },
    replicasPerShard: {
      type: 'integer',
      format: 'int32',
      description: 'Replicas of each primary in a Redis Cluster; only valid with shards >= 3.',
      minimum: 0,
      maximum: 5,
    },
    ttlSeconds: {
      type: 'integer',
      format: 'int32',
      description: 'Time to live of cached profiles, in seconds.',
      minimum: 1,
      maximum: 86400,
      default: 30,
    },
    storage: storage('each Redis node (it keeps the cluster state, nodes.conf; the cache itself is not persisted)', '256Mi', "the in-cluster database volume's class when set, else the cluster default StorageClass"),
    image: image(
      'Image of the Redis nodes and of the Job that forms a Redis Cluster; a Debian-based redis image (uid 999, redis-server and redis-cli on PATH). Empty or omitted: the operator\'s Redis image setting (GRAMINSTA_REDIS_IMAGE, default docker.io/library/redis:7.4-bookworm).',
    ),
    resources,
  },
  'x-kubernetes-validations': [
    {
      rule: '!has(self.shards) || self.shards >= 3 || !has(self.replicasPerShard) || self.replicasPerShard == 0',
      message: 'replicasPerShard requires shards >= 3 (a standalone Redis has no replicas)',
      fieldPath: '.replicasPerShard',
      reason: 'FieldValueInvalid',
    },
  ],
};

// metav1.LabelSelector, as NetworkPolicy peers use it.
function labelSelector(what: string): SchemaNode {
  return {
    type: 'object',
    description: `Selects ${what} by label (metav1.LabelSelector); an empty selector selects all of them.`,
    properties: {
      matchLabels: {
        type: 'object',
        description: 'Labels that must all be present with these values.',
        maxProperties: 32,
        additionalProperties: { type: 'string', description: 'Label value.', maxLength: 63 },
      },
      matchExpressions: {
        type: 'array',
        description: 'Requirements that must all hold.',
        maxItems: 16,
        'x-kubernetes-list-type': 'atomic',
        items: {
          type: 'object',
          description: 'One requirement: the label key, an operator and values.',
          required: ['key', 'operator'],
          properties: {
            key: { type: 'string', description: 'The label key.', minLength: 1, maxLength: 317 },
            operator: {
              type: 'string',
              description: 'In, NotIn, Exists or DoesNotExist.',
              enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
            },
            values: {
              type: 'array',
              description: 'Values for In and NotIn (at least one); empty for Exists and DoesNotExist.',
              maxItems: 64,
              'x-kubernetes-list-type': 'atomic',
              items: { type: 'string', description: 'A label value.', maxLength: 63 },
            },
          },
          'x-kubernetes-validations': [
            {
              rule: "(self.operator == 'In' || self.operator == 'NotIn') == (has(self.values) && size(self.values) > 0)",
              message: 'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
              fieldPath: '.values',
              reason: 'FieldValueInvalid',
            },
          ],
        },
      },
    },
  };
}

const networkPolicy: SchemaNode = {
  type: 'object',
  tsName: 'NetworkPolicySpec',
  description:
    'Per-tier NetworkPolicies (ingress rules): Postgres accepts only the API, migrate and replica pods, Redis only the API and its own nodes, the origin only the API; the API and web accept HTTP from ingressFrom. They need a network plugin that enforces NetworkPolicy. Omitted: on.',
  properties: {
    enabled: {
      type: 'boolean',
      description: 'Whether the operator renders the NetworkPolicies; false deletes the ones it created. Omitted: true.',
    },
    ingressFrom: {
      type: 'array',
      description:
        'Who may reach the HTTP port of the API and web pods once the app has an Ingress (before, users reach the Services directly and any source may): typically the ingress controller, e.g. [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}, podSelector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}}] (networking.k8s.io/v1 NetworkPolicyPeer). Omitted or empty: any source, since the operator cannot know where the controller runs, and a host-network controller or a load balancer sends traffic no pod selector matches.',
      maxItems: 16,
      'x-kubernetes-list-type': 'atomic',
      items: {
        type: 'object',
        tsClientType: 'V1NetworkPolicyPeer',
        description: 'One source: pods (podSelector, in the app namespace unless namespaceSelector is set too), namespaces (namespaceSelector), or an ipBlock alone.',
        properties: {
          podSelector: labelSelector('pods'),
          namespaceSelector: labelSelector('namespaces'),
          ipBlock: {
            type: 'object',
            description: 'Addresses outside the cluster, e.g. a load balancer or host-network ingress controllers: a CIDR minus exceptions.',
            required: ['cidr'],
            properties: {
              cidr: { type: 'string', description: 'A CIDR such as 10.0.0.0/16 or 2001:db8::/64.', maxLength: 64 },
              except: {
                type: 'array',
                description: 'CIDRs inside cidr that are not allowed.',
                maxItems: 16,
                'x-kubernetes-list-type': 'atomic',
                items: { type: 'string', description: 'A CIDR inside cidr.', maxLength: 64 },
              },
            },
            'x-kubernetes-validations': [
              { rule: 'isCIDR(self.cidr)', message: 'cidr must be a CIDR such as 10.0.0.0/16', fieldPath: '.cidr', reason: 'FieldValueInvalid' },
              {
                rule: '!has(self.except) || self.except.all(e, isCIDR(e))',
                message: 'every entry of except must be a CIDR',
                fieldPath: '.except',
                reason: 'FieldValueInvalid',
              },
            ],
          },
        },
        'x-kubernetes-validations': [
          {
            rule: 'has(self.podSelector) || has(self.namespaceSelector) || has(self.ipBlock)',
            message: 'a peer needs podSelector, namespaceSelector or ipBlock',
            reason: 'FieldValueRequired',
          },
          {
            rule: '!has(self.ipBlock) || !(has(self.podSelector) || has(self.namespaceSelector))',
            message: 'ipBlock must be the only field of its peer (no podSelector or namespaceSelector beside it)',
            fieldPath: '.ipBlock',
            reason: 'FieldValueForbidden',
          },
        ],
      },
    },
  },
  'x-kubernetes-validations': [
    {
      rule: '!has(self.enabled) || self.enabled || !has(self.ingressFrom)',
      message: 'ingressFrom has no effect while enabled is false: remove it or set enabled to true',
      fieldPath: '.ingressFrom',
      reason: 'FieldValueInvalid',
    },
  ],
};

const monitoring: SchemaNode = {
  type: 'object',
  tsName: 'MonitoringSpec',
  description:
    'Prometheus Operator objects for the app: a PodMonitor per tier that runs (API, web, origin, Postgres, Redis) and a PrometheusRule with alerts for the tiers of the stage. Postgres and Redis pods get a metrics sidecar (the service image in exporter mode). Only rendered where the monitoring.coreos.com CRDs exist; see docs/monitoring.md.',
  properties: {
    enabled: {
      type: 'boolean',
      description: 'Whether the app is monitored: metrics sidecars on Postgres and Redis, PodMonitors and the PrometheusRule. Omitted: false.',
    },
    labels: {
      type: 'object',
      description:
        'Labels added to the PodMonitors and the PrometheusRule, so that a Prometheus selecting by label (podMonitorSelector, ruleSelector; e.g. release: kube-prometheus-stack) picks them up.',
      additionalProperties: { type: 'string', description: 'A label value.', maxLength: 63, pattern: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$' },
      maxProperties: 16,
    },
  },
};

const tierOn = (tier: string) =>
  `(has(self.${tier}) && (!has(self.${tier}.enabled) || self.${tier}.enabled))`;
const hasReadReplicas =
  '(has(self.database) && has(self.database.readReplicas) && self.database.readReplicas > 0)';
const hasExternal = '(has(self.database) && has(self.database.external))';
// CEL twin of presets.api.ts: true when the stage is single-machine and Postgres runs inside the API pod.
const SINGLE_MACHINE_WITH_POD_DATABASE =
  `(has(self.users) ? (self.users < 10 && !${hasExternal} && !${hasReadReplicas}) : ` +
  `!(${tierOn('cache')} || ${hasReadReplicas} || ${tierOn('cdn')} || ${tierOn('ingress')} || ` +
  `(has(self.api) && has(self.api.autoscaling)) || ${tierOn('web')} || ` +
  `(has(self.database) && (has(self.database.external) || has(self.database.storage)))))`;

/** The schema of spec. */
export const specSchema: SchemaNode = {
  type: 'object',
  tsName: 'GraminstaAppSpec',
  description:
    'Desired state of a Graminsta photo-sharing app. Every field is optional: the users hint (or the configured tiers) picks a stage preset and explicit fields win over it.',
  properties: {
    users: {
      type: 'integer',
      format: 'int64',
      description:
        'Sizing hint, the expected number of users: picks the stage preset (1-9 single-machine, 10-99 split-database, 100-999 split-clients, 1000-9999 load-balanced, 10000-99999 cdn, 100000+ data-layer). Explicit fields win over the preset.',
      minimum: 1,
      maximum: 1000000000,
    },
    image: image(
      'Image of the photo service (all modes: api, web, migrate, origin), e.g. registry.local/graminsta-service:0.1.0 or a digest-pinned repo@sha256:<64 hex digits>. Empty or omitted: the operator\'s service image setting (GRAMINSTA_SERVICE_IMAGE, default the image of this operator version).',
    ),
    api,
    web,
    ingress,
    cdn,
    database,
    cache,
    networkPolicy,
    monitoring,
    paused: {
      type: 'boolean',
      description: 'Stops reconciling this app; everything already created is kept as it is.',
    },
  },
  'x-kubernetes-validations': [
    {
      rule: `!(${SINGLE_MACHINE_WITH_POD_DATABASE}) || !has(self.api) || ((!has(self.api.replicas) || self.api.replicas <= 1) && !has(self.api.autoscaling))`,
      message:
        'at stage single-machine Postgres shares the one API pod: api.replicas must be at most 1 and api.autoscaling unset; set users to 10 or more (or configure database.storage) to split the database',
      fieldPath: '.api',
      reason: 'FieldValueInvalid',
    },
  ],
};

function tierReplicas(tier: string): SchemaNode {
  return {
    type: 'object',
    tsName: 'TierReplicasStatus',
    description: `Observed pods of the ${tier} tier.`,
    properties: {
      replicas: { type: 'integer', format: 'int32', description: 'Pods that exist.' },
      readyReplicas: { type: 'integer', format: 'int32', description: 'Pods that are ready.' },
      summary: { type: 'string', description: 'Ready over desired pods, e.g. 3/3 (shown by kubectl get).' },
    },
  };
}

const condition: SchemaNode = {
  type: 'object',
  tsName: 'Condition',
  description: 'One aspect of the current state (metav1.Condition).',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: {
      type: 'string',
      description:
        'Condition type in CamelCase: Ready, Reconciling, Stalled, ApiReady, WebReady, DatabaseReady, CacheReady, IngressReady, and BackupReady and Restored with database backups and restores.',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', description: 'True, False or Unknown.', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      description: 'metadata.generation that the condition was computed from.',
      minimum: 0,
    },
    lastTransitionTime: {
      type: 'string',
      format: 'date-time',
      description: 'When the status last changed.',
    },
    reason: {
      type: 'string',
      description: 'Machine-readable CamelCase reason for the last transition.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    },
    message: { type: 'string', description: 'Human-readable details.', maxLength: 32768 },
  },
};

/** The schema of status. */
export const statusSchema: SchemaNode = {
  type: 'object',
  tsName: 'GraminstaAppStatus',
  description: 'Observed state of the app, written by the operator.',
  properties: {
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      description: 'metadata.generation of the spec that this status describes.',
    },
    stage: {
      type: 'string',
      description: 'The stage the app runs at, resolved from users and the configured tiers.',
      enum: [...STAGES],
    },
    conditions: {
      type: 'array',
      description:
        'Ready, Reconciling and Stalled (the kstatus conventions), plus ApiReady, WebReady, DatabaseReady, CacheReady and IngressReady (the Ingress, or the HTTPRoutes\' Accepted and ResolvedRefs from the Gateway\'s controller); BackupReady with spec.database.backup (why the last backup failed, if it did) and Restored with spec.database.restoreFrom (Restored, Restoring, DatabaseExists or why the restore fails). Neither of the last two is part of Ready.',
      maxItems: 16,
      items: condition,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
    api: tierReplicas('API'),
    web: tierReplicas('web'),
    database: {
      type: 'object',
      tsName: 'DatabaseStatus',
      description: 'Observed state of the database tier.',
      properties: {
        primaryReady: { type: 'boolean', description: 'Whether the primary accepts connections.' },
        readyReplicas: { type: 'integer', format: 'int32', description: 'Read replicas that are ready.' },
        summary: {
          type: 'string',
          description: 'Short summary shown by kubectl get, e.g. ready, ready+2/2 or external.',
        },
        lastBackup: {
          type: 'string',
          format: 'date-time',
          description: 'When the last successful backup (spec.database.backup) completed; kept when a later one fails.',
        },
      },
    },
    cache: {
      type: 'object',
      tsName: 'CacheStatus',
      description: 'Observed state of the cache tier.',
      properties: {
        readyNodes: {
          type: 'integer',
          format: 'int32',
          description: 'Redis nodes (primaries and replicas) that are ready.',
        },
        shards: {
          type: 'integer',
          format: 'int32',
          description:
            'Shards (primaries) the cache has in the shape last carried out: 1 for a standalone node, else the Redis Cluster the last form Job left; 0 before the first. While it differs from spec.cache.shards the form Job is resharding (CacheReady reason Resharding).',
        },
        replicasPerShard: {
          type: 'integer',
          format: 'int32',
          description: 'Replicas per shard in the shape last carried out (see shards).',
        },
        summary: {
          type: 'string',
          description: 'Short summary shown by kubectl get, e.g. 6/6, off; "6/12 resharding 3->6" while slots move.',
        },
      },
    },
    endpoints: {
      type: 'object',
      tsName: 'EndpointsStatus',
      description: 'Where clients reach the app.',
      properties: {
        api: { type: 'string', description: 'URL of the API.' },
        web: { type: 'string', description: 'URL of the web client.' },
        cdn: { type: 'string', description: 'Base URL that image URLs start with.' },
      },
    },
    imageStore: {
      type: 'object',
      tsName: 'ImageStoreStatus',
      description:
        'Where the photos of the app are stored now. When the spec asks for another store (a stage change between single-machine, the in-cluster origin and S3), the operator copies every photo there before it switches, and updates this field once the move is complete.',
      required: ['kind'],
      properties: {
        kind: {
          type: 'string',
          description: 'volume: the single-machine pod\'s volume; origin: the in-cluster origin; s3: an S3 bucket.',
          enum: ['volume', 'origin', 's3'],
        },
        bucket: { type: 'string', description: 'The bucket (s3).' },
        region: { type: 'string', description: 'The bucket\'s region (s3).' },
        endpoint: { type: 'string', description: 'The S3-compatible endpoint; empty for AWS (s3).' },
        credentialsSecret: { type: 'string', description: 'The Secret with the bucket\'s credentials (s3).' },
      },
    },
    completedJobs: {
      type: 'array',
      description:
        'The Jobs of the current topology that have succeeded, by name (<app>-migrate-<hash>, <app>-redis-init-<hash>, ...; a Job is named after what it runs). A Job named here is not run again, also once Kubernetes has deleted it (ttlSecondsAfterFinished), and what waits for it (the API Deployment for its migration) goes ahead.',
      maxItems: 32,
      items: { type: 'string', maxLength: 253, description: 'The name of a Job of the app that succeeded.' },
      'x-kubernetes-list-type': 'set',
    },
    diagram: {
      type: 'string',
      description:
        'The topology of the app as a Mermaid flowchart (tiers, Services, who connects to whom, replica counts, the stage), the same as `graminsta diagram` draws from the manifest; paste it into any Mermaid viewer. `graminsta diagram --format svg` draws it as a picture.',
      maxLength: 32768,
    },
    replicas: {
      type: 'integer',
      format: 'int32',
      description: 'API pods that exist (the scale subresource reads it).',
    },
    selector: {
      type: 'string',
      description: 'Label selector of the API pods, in string form (the scale subresource reads it).',
    },
  },
};

/** The schema of the whole object, as the CRD's openAPIV3Schema. */
export const rootSchema: SchemaNode = {
  type: 'object',
  tsName: 'GraminstaAppResource',
  description:
    'GraminstaApp runs the Graminsta photo-sharing app and grows its topology from one machine to a data layer with a cache and read replicas.',
  properties: {
    apiVersion: {
      type: 'string',
      description: 'APIVersion defines the versioned schema of this representation of an object.',
    },
    kind: {
      type: 'string',
      description: 'Kind is a string value representing the REST resource this object represents.',
    },
    metadata: { type: 'object', description: 'Standard object metadata.' },
    spec: specSchema,
    status: statusSchema,
  },
  'x-kubernetes-validations': [
    {
      rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 40",
      message:
        'metadata.name must be a DNS-1035 label of at most 40 characters (lowercase letters, digits, hyphens; child objects add suffixes)',
      reason: 'FieldValueInvalid',
    },
  ],
};

/** Printer columns shown by `kubectl get graminstaapps`. */
export const printerColumns = [
  { name: 'Stage', type: 'string', jsonPath: '.status.stage', description: 'The stage the app runs at.' },
  {
    name: 'API',
    type: 'string',
    jsonPath: '.status.api.summary',
    description: 'Ready over desired API pods.',
  },
  { name: 'DB', type: 'string', jsonPath: '.status.database.summary', description: 'Database state.' },
  { name: 'Cache', type: 'string', jsonPath: '.status.cache.summary', description: 'Cache state.' },
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Whether every tier is ready.',
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' },
];

/** The scale subresource: `kubectl scale` and HPAs targeting the app change spec.api.replicas. */
export const scaleSubresource = {
  specReplicasPath: '.spec.api.replicas',
  statusReplicasPath: '.status.replicas',
  labelSelectorPath: '.status.selector',
};
