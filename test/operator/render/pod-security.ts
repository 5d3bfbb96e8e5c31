// The Pod Security Standards "restricted" profile (which includes "baseline"), as a pure checker.
import type {
  V1Container,
  V1EphemeralContainer,
  V1PodSpec,
  V1SecurityContext,
} from '@kubernetes/client-node';

const RESTRICTED_VOLUME_KINDS = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

const ALLOWED_SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);

type AnyContainer = V1Container | V1EphemeralContainer;

function allContainers(pod: V1PodSpec): { path: string; container: AnyContainer }[] {
  return [
    ...(pod.initContainers ?? []).map((c) => ({ path: `initContainers[${c.name}]`, container: c })),
    ...pod.containers.map((c) => ({ path: `containers[${c.name}]`, container: c })),
    ...(pod.ephemeralContainers ?? []).map((c) => ({ path: `ephemeralContainers[${c.name}]`, container: c })),
  ];
}

function seLinuxViolations(path: string, options: V1SecurityContext['seLinuxOptions']): string[] {
  if (!options) return [];
  const out: string[] = [];
  if (!ALLOWED_SELINUX_TYPES.has(options.type ?? ''))
    out.push(`${path}.seLinuxOptions.type must not be ${options.type}`);
  if (options.user) out.push(`${path}.seLinuxOptions.user must not be set`);
  if (options.role) out.push(`${path}.seLinuxOptions.role must not be set`);
  return out;
}

/** Every way a pod spec breaks the Pod Security "restricted" profile, as readable messages; empty when it passes. */
export function restrictedViolations(pod: V1PodSpec): string[] {
  const out: string[] = [];
  const podSc = pod.securityContext ?? {};

  if (pod.hostNetwork) out.push('spec.hostNetwork must not be true');
  if (pod.hostPID) out.push('spec.hostPID must not be true');
  if (pod.hostIPC) out.push('spec.hostIPC must not be true');
  if (podSc.windowsOptions?.hostProcess)
    out.push('spec.securityContext.windowsOptions.hostProcess must not be true');
  out.push(...seLinuxViolations('spec.securityContext', podSc.seLinuxOptions));
  if (podSc.appArmorProfile?.type === 'Unconfined')
    out.push('spec.securityContext.appArmorProfile must not be Unconfined');
  for (const sysctl of podSc.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(sysctl.name))
      out.push(`spec.securityContext.sysctls: ${sysctl.name} is not a safe sysctl`);
  }
  if (podSc.runAsUser === 0) out.push('spec.securityContext.runAsUser must not be 0');
  const podSeccomp = podSc.seccompProfile?.type;
  if (podSeccomp !== undefined && podSeccomp !== 'RuntimeDefault' && podSeccomp !== 'Localhost') {
    out.push(
      `spec.securityContext.seccompProfile.type must be RuntimeDefault or Localhost, not ${podSeccomp}`,
    );
  }

  for (const volume of pod.volumes ?? []) {
    const kinds = Object.keys(volume).filter((k) => k !== 'name');
    for (const kind of kinds) {
      if (!RESTRICTED_VOLUME_KINDS.has(kind)) out.push(`volumes[${volume.name}] must not be of type ${kind}`);
    }
  }

  for (const { path, container } of allContainers(pod)) {
    const sc: V1SecurityContext = container.securityContext ?? {};
    if (sc.privileged) out.push(`${path}.securityContext.privileged must not be true`);
    if (sc.windowsOptions?.hostProcess)
      out.push(`${path}.securityContext.windowsOptions.hostProcess must not be true`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default')
      out.push(`${path}.securityContext.procMount must be Default`);
    if (sc.appArmorProfile?.type === 'Unconfined')
      out.push(`${path}.securityContext.appArmorProfile must not be Unconfined`);
    out.push(...seLinuxViolations(`${path}.securityContext`, sc.seLinuxOptions));
    for (const port of container.ports ?? []) {
      if (port.hostPort) out.push(`${path}.ports[${port.containerPort}].hostPort must not be set`);
    }
    if (sc.allowPrivilegeEscalation !== false)
      out.push(`${path}.securityContext.allowPrivilegeEscalation must be false`);
    const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    if (runAsNonRoot !== true)
      out.push(`${path}: runAsNonRoot must be true (pod or container securityContext)`);
    if (sc.runAsUser === 0) out.push(`${path}.securityContext.runAsUser must not be 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
      out.push(`${path}: seccompProfile.type must be RuntimeDefault or Localhost (pod or container)`);
    }
    if (!(sc.capabilities?.drop ?? []).includes('ALL'))
      out.push(`${path}.securityContext.capabilities.drop must include ALL`);
    for (const cap of sc.capabilities?.add ?? []) {
      if (cap !== 'NET_BIND_SERVICE')
        out.push(`${path}.securityContext.capabilities.add must not include ${cap}`);
    }
  }
  return out;
}
