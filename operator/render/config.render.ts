// ConfigMaps of the photo service: the non-secret settings of each mode.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { IMAGES_PATH, SERVICE_PORT } from './constants.render.js';
import { databaseSettings, storageSettings } from './env.render.js';
import { objectMeta, type Component } from './names.render.js';
import type { Plan } from './plan.render.js';

function configMap(plan: Plan, name: string, component: Component, data: Record<string, string>): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: objectMeta(plan.names, name, component), data };
}

const RATE_LIMIT_ENV: Record<string, string> = { perIP: 'PER_IP', perAccount: 'PER_ACCOUNT', windowSeconds: 'WINDOW_SECONDS' };

/** GRAMINSTA_RATE_LIMITS_ENABLED, GRAMINSTA_TRUST_PROXY and a GRAMINSTA_RATE_LIMIT_* entry for each limit the spec sets. */
export function rateLimitSettings(plan: Plan): Record<string, string> {
  const out: Record<string, string> = {
    GRAMINSTA_RATE_LIMITS_ENABLED: plan.rateLimits ? 'true' : 'false',
    GRAMINSTA_TRUST_PROXY: String(plan.trustedProxyHops),
  };
  for (const action of ['login', 'signup', 'uploads'] as const) {
    for (const [field, value] of Object.entries(plan.rateLimits?.[action] ?? {})) {
      out[`GRAMINSTA_RATE_LIMIT_${action.toUpperCase()}_${RATE_LIMIT_ENV[field]}`] = String(value);
    }
  }
  return out;
}

/** The API's settings (also of the API container of the single-machine pod); always present. */
export function renderApiConfigMap(plan: Plan): V1ConfigMap {
  return configMap(plan, plan.names.apiConfig, 'api', {
    PORT: String(SERVICE_PORT),
    LOG_LEVEL: 'info',
    ...databaseSettings(plan),
    GRAMINSTA_REDIS_MODE: plan.cache ? plan.cache.mode : 'none',
    GRAMINSTA_REDIS_NODES: plan.cache?.nodes ?? '',
    GRAMINSTA_CACHE_TTL_SECONDS: String(plan.cache?.ttlSeconds ?? 30),
    ...storageSettings(plan),
    GRAMINSTA_CDN_BASE_URL: plan.cdnBaseURL,
    GRAMINSTA_PUBLIC_API_URL: plan.endpoints.api,
    ...rateLimitSettings(plan),
  });
}

/** The web client's settings; null without a web tier. */
export function renderWebConfigMap(plan: Plan): V1ConfigMap | null {
  if (!plan.web) return null;
  return configMap(plan, plan.names.webConfig, 'web', {
    PORT: String(SERVICE_PORT),
    LOG_LEVEL: 'info',
    GRAMINSTA_CDN_BASE_URL: plan.cdnBaseURL,
    GRAMINSTA_PUBLIC_API_URL: plan.endpoints.api,
  });
}

/** The origin's settings; null without an in-cluster origin. */
export function renderOriginConfigMap(plan: Plan): V1ConfigMap | null {
  if (plan.storage.kind !== 'origin') return null;
  return configMap(plan, plan.names.originConfig, 'origin', {
    PORT: String(SERVICE_PORT),
    LOG_LEVEL: 'info',
    GRAMINSTA_STORAGE: 'volume',
    GRAMINSTA_VOLUME_PATH: IMAGES_PATH,
  });
}
