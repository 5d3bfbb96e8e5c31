import { expect } from 'chai';
import type { V1PodSpec } from '@kubernetes/client-node';
import { restrictedViolations } from './pod-security.js';

function good(): V1PodSpec {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        image: 'x',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
    volumes: [{ name: 'tmp', emptyDir: {} }],
  };
}

describe('pod-security.render restrictedViolations', () => {
  it('accepts a pod that follows the restricted profile', () => {
    expect(restrictedViolations(good())).to.deep.equal([]);
  });

  const cases: [string, (p: V1PodSpec) => void, RegExp][] = [
    [
      'privilege escalation allowed',
      (p) => (p.containers[0]!.securityContext!.allowPrivilegeEscalation = true),
      /allowPrivilegeEscalation/,
    ],
    [
      'privilege escalation unset',
      (p) => delete p.containers[0]!.securityContext!.allowPrivilegeEscalation,
      /allowPrivilegeEscalation/,
    ],
    [
      'capabilities not dropped',
      (p) => (p.containers[0]!.securityContext!.capabilities = {}),
      /drop must include ALL/,
    ],
    [
      'capability added',
      (p) => (p.containers[0]!.securityContext!.capabilities!.add = ['NET_ADMIN']),
      /NET_ADMIN/,
    ],
    ['runAsNonRoot missing', (p) => delete p.securityContext!.runAsNonRoot, /runAsNonRoot/],
    [
      'container overrides runAsNonRoot',
      (p) => (p.containers[0]!.securityContext!.runAsNonRoot = false),
      /runAsNonRoot/,
    ],
    ['runAsUser 0', (p) => (p.containers[0]!.securityContext!.runAsUser = 0), /runAsUser must not be 0/],
    ['seccomp missing', (p) => delete p.securityContext!.seccompProfile, /seccompProfile/],
    [
      'seccomp unconfined',
      (p) => (p.containers[0]!.securityContext!.seccompProfile = { type: 'Unconfined' }),
      /seccompProfile/,
    ],
    ['privileged', (p) => (p.containers[0]!.securityContext!.privileged = true), /privileged/],
    ['hostNetwork', (p) => (p.hostNetwork = true), /hostNetwork/],
    ['hostPath volume', (p) => p.volumes!.push({ name: 'h', hostPath: { path: '/' } }), /hostPath/],
    ['hostPort', (p) => (p.containers[0]!.ports = [{ containerPort: 80, hostPort: 80 }]), /hostPort/],
    [
      'unsafe sysctl',
      (p) => (p.securityContext!.sysctls = [{ name: 'kernel.msgmax', value: '1' }]),
      /kernel\.msgmax/,
    ],
    [
      'init container without a security context',
      (p) => (p.initContainers = [{ name: 'init', image: 'x' }]),
      /initContainers\[init\]/,
    ],
  ];
  for (const [what, mutate, message] of cases) {
    it(`rejects: ${what}`, () => {
      const pod = good();
      mutate(pod);
      const violations = restrictedViolations(pod);
      expect(violations.join('\n')).to.match(message);
    });
  }
});
