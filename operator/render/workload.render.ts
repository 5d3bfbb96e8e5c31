// Builders shared by the tiers: service-image containers, pod specs, StatefulSets and their claims, Services,
// HPAs and PDBs.
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1Probe,
  V1Service,
  V1ServicePort,
  V1StatefulSet,
  V1Volume,
  V1VolumeMount,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { EffectiveAutoscaling, EffectiveWorkload } from '../api/presets.api.js';
import type { ResourceRequirements } from '../api/types.gen.js';
import { METRICS_PORT, SERVICE_PORT } from './constants.render.js';
import {
  CONFIG_HASH_ANNOTATION,
  labels,
  objectMeta,
  selectorLabels,
  type AppNames,
  type Component,
} from './names.render.js';
import { resourcesFor, type ContainerKind } from './resources.render.js';
import { secretsAsFiles } from './secret-files.render.js';
import { containerSecurityContext, podSecurityContext, SERVICE_UID } from './security.render.js';

/** The writable /tmp every container gets, since root filesystems are read-only. */
export const TMP_VOLUME: V1Volume = { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } };
/** Mount of TMP_VOLUME. */
export const TMP_MOUNT: V1VolumeMount = { name: 'tmp', mountPath: '/tmp' };

/** The mode a service-image container runs in. */
export type ServiceMode = 'api' | 'web' | 'migrate' | 'origin' | 'sync-images' | 'exporter' | 'backup' | 'restore';

function httpProbe(path: string, periodSeconds: number, failureThreshold: number, timeoutSeconds = 2): V1Probe {
  return { httpGet: { path, port: 'http' }, periodSeconds, failureThreshold, timeoutSeconds };
}

/** A container of the photo service in one mode: settings from a ConfigMap, secrets from Secret refs, probes for HTTP modes. */
export function serviceContainer(opts: {
  name: string;
  mode: ServiceMode;
  image: string;
  kind: ContainerKind;
  resources?: ResourceRequirements;
  configMap?: string;
  env?: V1EnvVar[];
  mounts?: V1VolumeMount[];
}): V1Container {
  const http = opts.mode === 'api' || opts.mode === 'web' || opts.mode === 'origin';
  const container: V1Container = { name: opts.name, image: opts.image, imagePullPolicy: 'IfNotPresent' };
  // The metrics port is on the pod only: no Service lists it, so user traffic (Services, Ingress) never reaches /metrics.
  if (http) {
    container.ports = [
      { name: 'http', containerPort: SERVICE_PORT, protocol: 'TCP' },
      { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
    ];
  }
  if (opts.configMap) container.envFrom = [{ configMapRef: { name: opts.configMap } }];
  container.env = [{ name: 'GRAMINSTA_MODE', value: opts.mode }, ...(http ? [{ name: 'GRAMINSTA_METRICS_PORT', value: String(METRICS_PORT) }] : []), ...(opts.env ?? [])];
  container.resources = resourcesFor(opts.kind, opts.resources);
  if (http) {
    container.startupProbe = httpProbe('/healthz', 2, 30);
    container.livenessProbe = httpProbe('/healthz', 10, 3);
    // A pod slow to answer (a busy node while a stage's new pods start) stays in its Service: when it is the only
    // one, taking it out refuses every request. Readiness fails at once when the service is draining.
    container.readinessProbe = httpProbe('/readyz', 5, 3, 5);
  }
  container.securityContext = containerSecurityContext(SERVICE_UID);
  container.volumeMounts = [{ ...TMP_MOUNT }, ...(opts.mounts ?? [])];
  return container;
}

/**
 * A pod spec with the restricted-profile defaults: no service account token, fixed UID/GID, /tmp volume; passwords and
 * keys from Secrets mounted as files (secret-files.render.ts), never in env.
 */
export function podSpec(opts: {
  uid: number;
  containers: V1Container[];
  initContainers?: V1Container[];
  volumes?: V1Volume[];
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  spreadLabels?: Record<string, string>;
  /** Labels of pods this pod should not share a node with (preferred, so a one-node cluster still schedules it). */
  avoidLabels?: Record<string, string>;
  /** Seconds the kubelet waits after SIGTERM; the service's drain (shutdown delay + in-flight requests) must fit in it. */
  terminationGracePeriodSeconds?: number;
}): V1PodSpec {
  const spec: V1PodSpec = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurityContext(opts.uid),
    containers: [],
  };
  const init = opts.initContainers ?? [];
  const files = secretsAsFiles([...init, ...opts.containers]);
  if (init.length > 0) spec.initContainers = files.containers.slice(0, init.length);
  spec.containers = files.containers.slice(init.length);
  spec.volumes = [{ ...TMP_VOLUME, emptyDir: { ...TMP_VOLUME.emptyDir } }, ...(opts.volumes ?? []), ...files.volumes];
  if (opts.restartPolicy) spec.restartPolicy = opts.restartPolicy;
  if (opts.terminationGracePeriodSeconds !== undefined) spec.terminationGracePeriodSeconds = opts.terminationGracePeriodSeconds;
  if (opts.spreadLabels) {
    spec.topologySpreadConstraints = [
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: opts.spreadLabels },
      },
    ];
  }
  if (opts.avoidLabels) {
    spec.affinity = {
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: opts.avoidLabels } } },
        ],
      },
    };
  }
  return spec;
}

/** A ClusterIP Service (or a headless one) selecting a component's pods. */
export function service(
  names: AppNames,
  opts: {
    name: string;
    component: Component;
    selector: Component;
    ports: V1ServicePort[];
    headless?: boolean;
    publishNotReadyAddresses?: boolean;
  },
): V1Service {
  const svc: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(names, opts.name, opts.component),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(names, opts.selector),
      ports: opts.ports,
    },
  };
  if (opts.headless) svc.spec!.clusterIP = 'None';
  if (opts.publishNotReadyAddresses) svc.spec!.publishNotReadyAddresses = true;
  return svc;
}

/**
 * The grace period of pods serving HTTP: the service keeps serving 5 s after SIGTERM (GRAMINSTA_SHUTDOWN_DELAY_SECONDS,
 * while endpoints move away), then drains in-flight requests for up to 25 s; the rest is margin.
 */
export const SERVING_GRACE_SECONDS = 40;

/** The HTTP port of a service-image Service: 80 outside, the container's named port inside. */
export const HTTP_SERVICE_PORT: V1ServicePort = {
  name: 'http',
  port: 80,
  targetPort: 'http',
  protocol: 'TCP',
};

/** An autoscaling/v2 HPA on CPU utilization for a Deployment, with the user's behavior passed through. */
export function hpa(
  names: AppNames,
  name: string,
  component: Component,
  autoscaling: EffectiveAutoscaling,
): V2HorizontalPodAutoscaler {
  const out: V2HorizontalPodAutoscaler = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: objectMeta(names, name, component),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: { type: 'Utilization', averageUtilization: autoscaling.targetCPUUtilizationPercentage },
          },
        },
      ],
    },
  };
  if (autoscaling.behavior) out.spec!.behavior = autoscaling.behavior;
  return out;
}

/** A PDB allowing one voluntary disruption at a time, only when the component keeps at least two pods (so drains never block). */
export function pdb(
  names: AppNames,
  name: string,
  component: Component,
  minimumReplicas: number,
): V1PodDisruptionBudget | null {
  if (minimumReplicas < 2) return null;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(names, name, component),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(names, component) },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
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

/** A StatefulSet with the settings every StatefulSet of the app shares; its pods carry their config hash. */
export function statefulSet(
  names: AppNames,
  opts: {
    name: string;
    component: Component;
    serviceName: string;
    replicas: number;
    hash: string;
    spec: V1PodSpec;
    claims: V1PersistentVolumeClaim[];
    parallel?: boolean;
  },
): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: objectMeta(names, opts.name, opts.component),
    spec: {
      replicas: opts.replicas,
      serviceName: opts.serviceName,
      podManagementPolicy: opts.parallel ? 'Parallel' : 'OrderedReady',
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(names, opts.component) },
      updateStrategy: { type: 'RollingUpdate' },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: {
        metadata: {
          labels: labels(names, opts.component),
          annotations: { [CONFIG_HASH_ANNOTATION]: opts.hash },
        },
        spec: opts.spec,
      },
      volumeClaimTemplates: opts.claims,
    },
  };
}

/**
 * A Deployment of one service-image container that rolls one pod at a time without losing capacity; without
 * spec.replicas when an HPA scales it, so the operator never owns that field.
 */
export function deployment(
  names: AppNames,
  opts: {
    name: string;
    component: Component;
    workload: EffectiveWorkload;
    hash: string;
    container: V1Container;
    annotations?: Record<string, string>;
  },
): V1Deployment {
  const out: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(names, opts.name, opts.component, opts.annotations),
    spec: {
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(names, opts.component) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labels(names, opts.component), annotations: { [CONFIG_HASH_ANNOTATION]: opts.hash } },
        spec: podSpec({
          uid: SERVICE_UID,
          containers: [opts.container],
          spreadLabels: selectorLabels(names, opts.component),
          terminationGracePeriodSeconds: SERVING_GRACE_SECONDS,
        }),
      },
    },
  };
  if (!opts.workload.autoscaling) out.spec!.replicas = opts.workload.replicas;
  return out;
}
