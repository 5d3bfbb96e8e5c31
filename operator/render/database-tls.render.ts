// TLS of the in-cluster Postgres: the CA and server certificate Secrets, and the env entries through which Postgres
// and its clients read them as files (secret-files.render.ts mounts them; a renewal updates the files in place).
import type { V1EnvVar, V1Secret } from '@kubernetes/client-node';
import { DB_CA_KEYS, DB_TLS_KEYS } from './constants.render.js';
import { secretEnv } from './env.render.js';
import { objectMeta } from './names.render.js';
import type { Plan, ResolvedPlan } from './plan.render.js';

/** Annotation on the certificate Secrets: which one it is (the reconciler issues and renews both, render only lists them). */
export const CERTIFICATE_ANNOTATION = 'graminsta.io/certificate';

/** The keys each certificate Secret holds. */
export function certificateKeys(kind: 'ca' | 'server'): string[] {
  return kind === 'ca' ? Object.values(DB_CA_KEYS) : Object.values(DB_TLS_KEYS);
}

/**
 * The CA Secret (ca.crt, ca.key; mounted by no pod: the operator signs with the key) and the server Secret
 * (kubernetes.io/tls with ca.crt), with the data the reconciler issued; empty without an in-cluster database.
 */
export function renderDatabaseTlsSecrets(plan: Pick<ResolvedPlan, 'names' | 'databaseTls' | 'secrets'>): V1Secret[] {
  const tls = plan.databaseTls;
  if (!tls) return [];
  const secret = (name: string, kind: 'ca' | 'server', type: string): V1Secret => {
    const data = plan.secrets[name] ?? {};
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: objectMeta(plan.names, name, 'database', { [CERTIFICATE_ANNOTATION]: kind }),
      type,
      // Base64 as the API server keeps it, so an unchanged certificate compares equal and is not written again.
      data: Object.fromEntries(certificateKeys(kind).map((key) => [key, btoa(data[key] ?? '')])),
    };
  };
  return [secret(tls.caSecret, 'ca', 'Opaque'), secret(tls.serverSecret, 'server', 'kubernetes.io/tls')];
}

/** Env entries of a Postgres container: its server certificate, key and the CA certificate, as files. */
export function postgresTlsEnv(plan: Plan): V1EnvVar[] {
  const tls = plan.databaseTls;
  if (!tls) return [];
  return [
    secretEnv('POSTGRES_TLS_CERT', tls.serverSecret, DB_TLS_KEYS.cert),
    secretEnv('POSTGRES_TLS_KEY', tls.serverSecret, DB_TLS_KEYS.key),
    secretEnv('POSTGRES_TLS_CA', tls.serverSecret, DB_TLS_KEYS.ca),
  ];
}
