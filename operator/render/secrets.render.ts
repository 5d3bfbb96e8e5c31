// Generated Secrets (passwords and keys): created once by the reconciler, their values kept forever after.
import type { V1Secret } from '@kubernetes/client-node';
import type { RenderContext } from './context.render.js';
import { GENERATED_SECRET_ANNOTATION, objectMeta } from './names.render.js';
import type { Plan, ResolvedPlan } from './plan.render.js';

/**
 * The data of every generated Secret of the plan: existing values are kept, missing keys get a fresh password,
 * once, so the Secrets and the config hashes of one render agree.
 */
export function generatedSecretData(plan: Plan, ctx: RenderContext): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const { name, keys } of plan.generatedSecrets) {
    const existing = ctx.existingSecrets[name] ?? {};
    const data: Record<string, string> = {};
    for (const key of [...keys].sort()) data[key] = existing[key] ?? ctx.generatePassword(`${name}/${key}`);
    out[name] = data;
  }
  return out;
}

/** The generated Secrets of an app, for the reconciler to create when absent and never update. */
export function renderGeneratedSecrets(plan: Pick<ResolvedPlan, 'names' | 'generatedSecrets' | 'secrets'>): V1Secret[] {
  return plan.generatedSecrets.map(({ name, component }) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(plan.names, name, component, { [GENERATED_SECRET_ANNOTATION]: 'true' }),
    type: 'Opaque',
    stringData: { ...plan.secrets[name] },
  }));
}

/** Whether a rendered object is a generated Secret (create once if absent, never update). */
export function isGeneratedSecret(obj: {
  kind?: string;
  metadata?: { annotations?: Record<string, string> };
}): boolean {
  return obj.kind === 'Secret' && obj.metadata?.annotations?.[GENERATED_SECRET_ANNOTATION] === 'true';
}
