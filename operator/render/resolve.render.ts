// Completes a plan with what the cluster holds: generated Secret data, the config hash of every pod template,
// and the Job names. Done once per render, so every builder reads the same values.
import { renderApiConfigMap, renderOriginConfigMap, renderWebConfigMap } from './config.render.js';
import type { RenderContext } from './context.render.js';
import { apiSecretEnv, referencedSecrets } from './env.render.js';
import { certificateKeys } from './database-tls.render.js';
import { configHash } from './hash.render.js';
import { redisInitJobName } from './cache.render.js';
import { migrateJobName } from './migrate.render.js';
import type { ConfigHashes, Plan, ResolvedPlan } from './plan.render.js';
import { SCRIPT_FILES, scriptsSubset } from './scripts-configmap.render.js';
import { generatedSecretData } from './secrets.render.js';

function configHashes(plan: Plan, secrets: ResolvedPlan['secrets'], ctx: RenderContext): ConfigHashes {
  const { names } = plan;
  const data = (name: string) => secrets[name] ?? ctx.existingSecrets[name];
  const api = renderApiConfigMap(plan);
  const apiSecrets = referencedSecrets(apiSecretEnv(plan));
  const primaryScript = scriptsSubset(plan, [SCRIPT_FILES.postgresPrimary]);
  return {
    api: configHash([api], apiSecrets, data),
    web: configHash([renderWebConfigMap(plan)], [], data),
    origin: configHash([renderOriginConfigMap(plan)], [names.originSecret], data),
    database: configHash([primaryScript], [names.databaseSecret], data),
    databaseReplica: configHash([scriptsSubset(plan, [SCRIPT_FILES.postgresReplica, SCRIPT_FILES.postgresReplicaReady])], [names.databaseSecret], data),
    redis: configHash([scriptsSubset(plan, [SCRIPT_FILES.redisNode])], [names.redisSecret], data),
    singleMachine: configHash([api, primaryScript], apiSecrets, data),
  };
}

/**
 * The certificate Secrets' data as the reconciler issued it (RenderContext.existingSecrets); a key it did not supply
 * (offline rendering) gets generatePassword's value, the placeholder there.
 */
function certificateData(plan: Plan, ctx: RenderContext): Record<string, Record<string, string>> {
  const tls = plan.databaseTls;
  if (!tls) return {};
  const fill = (name: string, kind: 'ca' | 'server') =>
    Object.fromEntries(certificateKeys(kind).map((key) => [key, ctx.existingSecrets[name]?.[key] ?? ctx.generatePassword(`${name}/${key}`)]));
  return { [tls.caSecret]: fill(tls.caSecret, 'ca'), [tls.serverSecret]: fill(tls.serverSecret, 'server') };
}

/** The plan with the generated Secrets resolved (existing values kept, the missing generated once) and hashes computed. */
export function resolvePlan(plan: Plan, ctx: RenderContext): ResolvedPlan {
  const secrets = { ...generatedSecretData(plan, ctx), ...certificateData(plan, ctx) };
  return {
    ...plan,
    secrets,
    hashes: configHashes(plan, secrets, ctx),
    jobs: { migrate: migrateJobName(plan), redisInit: redisInitJobName(plan) },
    monitoringApi: ctx.monitoringApi ?? false,
    gatewayApi: ctx.gatewayApi ?? false,
  };
}
