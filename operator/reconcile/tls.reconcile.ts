// The reconciler's part of the database's TLS: the CA and server certificate issued or renewed before each render, so
// the rendered Secrets carry them; the CA is created (never applied) when missing, so a cache that has not caught up
// never replaces it.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { GraminstaApp } from '../api/types.gen.js';
import { isAlreadyExists, apiMessageOf as messageOf } from '../kube/errors.kube.js';
import { renderDatabaseTlsSecrets } from '../render/database-tls.render.js';
import type { Plan } from '../render/plan.render.js';
import { ensureCa, ensureServerCertificate, nextRenewalAt, CERTIFICATE_POLICY, type CertificatePolicy, type PemData } from './certificates.reconcile.js';
import { decodeSecret, notOursReason } from './children.reconcile.js';

/** The longest wait before the reconciler looks at the certificates again (timers cannot wait weeks). */
export const MAX_RENEWAL_WAIT_MS = 12 * 3_600_000;

/** What the reconciler needs for the certificates. */
export interface DatabaseTlsDeps {
  /** The Secret cache of the app's namespace. */
  secrets: { get(name: string, namespace?: string): KubernetesObject | undefined };
  cluster: { create(obj: KubernetesObject): Promise<KubernetesObject>; read(apiVersion: string, kind: string, namespace: string, name: string): Promise<KubernetesObject | undefined> };
  /** The object as the reconciler sends it (owner reference, applied hash). */
  prepare(obj: KubernetesObject): KubernetesObject;
  now: number;
  policy?: CertificatePolicy;
}

/** The certificates of an app's database: the Secrets' data for the render, what was issued and why, when to look again. */
export type DatabaseTlsResult =
  | { data: Record<string, PemData>; issued: string[]; requeueAfterMs: number }
  /** The CA Secret's name is taken by an object the app did not create. */
  | { foreign: string };

/** Issues or renews the certificates of the app's in-cluster database; null with an external database. */
export async function reconcileDatabaseTls(app: GraminstaApp, plan: Plan, deps: DatabaseTlsDeps): Promise<DatabaseTlsResult | null> {
  const tls = plan.databaseTls;
  if (!tls) return null;
  const namespace = plan.names.namespace;
  const policy = deps.policy ?? CERTIFICATE_POLICY;
  const issued: string[] = [];
  const cachedCa = deps.secrets.get(tls.caSecret, namespace);
  let caCurrent = cachedCa ? decodeSecret(cachedCa) : undefined;
  if (!cachedCa) {
    const fresh = await ensureCa(tls.caSecret, undefined, deps.now, policy);
    const [caObject] = renderDatabaseTlsSecrets({ names: plan.names, databaseTls: tls, secrets: { [tls.caSecret]: fresh.data } });
    let live: KubernetesObject | undefined;
    try {
      live = await deps.cluster.create(deps.prepare(caObject!));
      issued.push(`Secret ${tls.caSecret}: ${fresh.issued}`);
    } catch (err) {
      if (!isAlreadyExists(err)) throw new Error(`while creating Secret ${namespace}/${tls.caSecret}: ${messageOf(err)}`, { cause: err });
      live = await deps.cluster.read('v1', 'Secret', namespace, tls.caSecret);
    }
    const foreign = live && notOursReason({ ...live, kind: 'Secret' }, app.metadata.uid);
    if (foreign) return { foreign };
    caCurrent = decodeSecret(live);
  }
  const ca = await ensureCa(tls.caSecret, caCurrent, deps.now, policy);
  if (ca.issued && cachedCa) issued.push(`Secret ${tls.caSecret}: ${ca.issued}`);
  // Uncached when the cache has none: a server certificate applied by the pass before is kept, not issued again.
  const serverLive = deps.secrets.get(tls.serverSecret, namespace) ?? (await deps.cluster.read('v1', 'Secret', namespace, tls.serverSecret));
  // One the app did not create is not read: the apply reports it (AlreadyOwned).
  const serverOurs = serverLive && !notOursReason({ ...serverLive, kind: 'Secret' }, app.metadata.uid);
  const server = await ensureServerCertificate(tls, ca.data, serverOurs ? decodeSecret(serverLive) : undefined, deps.now, policy);
  if (server.issued) issued.push(`Secret ${tls.serverSecret}: ${server.issued}`);
  const renewAt = nextRenewalAt(ca.data, server.data, policy);
  return {
    data: { [tls.caSecret]: ca.data, [tls.serverSecret]: server.data },
    issued,
    requeueAfterMs: Math.max(1_000, Math.min(MAX_RENEWAL_WAIT_MS, renewAt - deps.now)),
  };
}
