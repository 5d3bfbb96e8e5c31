// Compute resources: defaults small enough for a laptop cluster; the spec's explicit resources win.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { ResourceRequirements } from '../api/types.gen.js';

/** The kinds of containers rendered, each with its own default resources. */
export type ContainerKind = 'api' | 'web' | 'migrate' | 'origin' | 'postgres' | 'redis' | 'exporter' | 'tool';

const DEFAULTS: Record<ContainerKind, V1ResourceRequirements> = {
  api: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  web: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
  migrate: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  origin: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  postgres: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } },
  redis: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
  exporter: { requests: { cpu: '10m', memory: '48Mi' }, limits: { memory: '96Mi' } },
  tool: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
};

function quantities(values: Record<string, number | string> | undefined): Record<string, string> | undefined {
  if (!values) return undefined;
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
}

/** The resources of a container: the explicit spec value when it has limits or requests, else the default of its kind. */
export function resourcesFor(kind: ContainerKind, explicit?: ResourceRequirements): V1ResourceRequirements {
  if (explicit && (explicit.limits || explicit.requests)) {
    const out: V1ResourceRequirements = {};
    const limits = quantities(explicit.limits);
    const requests = quantities(explicit.requests);
    if (limits) out.limits = limits;
    if (requests) out.requests = requests;
    return out;
  }
  const d = DEFAULTS[kind];
  return { requests: { ...d.requests }, limits: { ...d.limits } };
}
