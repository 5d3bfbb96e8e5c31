// Generated Secrets (passwords and keys): created once by the reconciler, their values kept forever after.
import type { V1Secret } from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import type { RenderContext } from './context.render.js';
import { GENERATED_SECRET_ANNOTATION, objectMeta, type Component } from './names.render.js';
import { planOf } from './plan.render.js';

/** Keys of the generated database Secret. */
export const DB_SECRET_KEYS = { password: 'password', replicationPassword: 'replication-password' } as const;
/** Key of the generated Redis Secret. */
export const REDIS_SECRET_KEY = 'password';
/** Key of the generated origin Secret (shared by the API and the origin). */
export const ORIGIN_SECRET_KEY = 'token';
/** Key of the generated token Secret (HMAC key of bearer tokens). */
export const TOKEN_SECRET_KEY = 'token-secret';

function generatedSecret(
  app: GraminstaApp,
  ctx: RenderContext,
  name: string,
  keys: string[],
  component: Component,
): V1Secret {
  const existing = ctx.existingSecrets[name] ?? {};
  const stringData: Record<string, string> = {};
  for (const key of [...keys].sort())
    stringData[key] = existing[key] ?? ctx.generatePassword(`${name}/${key}`);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(app, name, component, { [GENERATED_SECRET_ANNOTATION]: 'true' }),
    type: 'Opaque',
    stringData,
  };
}

/** The database passwords (app user and replication user); null with an external database. */
export function renderDatabaseSecret(app: GraminstaApp, ctx: RenderContext): V1Secret | null {
  const plan = planOf(app, ctx);
  if (plan.database.mode === 'external') return null;
  return generatedSecret(app, ctx, plan.names.databaseSecret, Object.values(DB_SECRET_KEYS), 'database');
}

/** The Redis password; null without a cache. */
export function renderRedisSecret(app: GraminstaApp, ctx: RenderContext): V1Secret | null {
  const plan = planOf(app, ctx);
  if (!plan.cache) return null;
  return generatedSecret(app, ctx, plan.names.redisSecret, [REDIS_SECRET_KEY], 'cache');
}

/** The token the API uses to write to the in-cluster origin; null without one. */
export function renderOriginSecret(app: GraminstaApp, ctx: RenderContext): V1Secret | null {
  const plan = planOf(app, ctx);
  if (plan.storage.kind !== 'origin') return null;
  return generatedSecret(app, ctx, plan.names.originSecret, [ORIGIN_SECRET_KEY], 'origin');
}

/** The HMAC key of the API's bearer tokens; always present. */
export function renderTokenSecret(app: GraminstaApp, ctx: RenderContext): V1Secret {
  const plan = planOf(app, ctx);
  return generatedSecret(app, ctx, plan.names.tokenSecret, [TOKEN_SECRET_KEY], 'api');
}

/** The generated Secrets of an app, for the reconciler to create when absent and never update. */
export function renderGeneratedSecrets(app: GraminstaApp, ctx: RenderContext): V1Secret[] {
  return [
    renderDatabaseSecret(app, ctx),
    renderRedisSecret(app, ctx),
    renderOriginSecret(app, ctx),
    renderTokenSecret(app, ctx),
  ].filter((s): s is V1Secret => s !== null);
}

/** Whether a rendered object is a generated Secret (create once if absent, never update). */
export function isGeneratedSecret(obj: {
  kind?: string;
  metadata?: { annotations?: Record<string, string> };
}): boolean {
  return obj.kind === 'Secret' && obj.metadata?.annotations?.[GENERATED_SECRET_ANNOTATION] === 'true';
}

/**
 * The context with every generated Secret resolved once: missing passwords are generated a single time and
 * added to existingSecrets, so the Secrets and the config hashes of one render agree.
 */
export function resolveGeneratedSecrets(app: GraminstaApp, ctx: RenderContext): RenderContext {
  const existingSecrets = { ...ctx.existingSecrets };
  for (const secret of renderGeneratedSecrets(app, ctx)) {
    existingSecrets[secret.metadata!.name!] = {
      ...ctx.existingSecrets[secret.metadata!.name!],
      ...secret.stringData,
    };
  }
  return { ...ctx, existingSecrets };
}
