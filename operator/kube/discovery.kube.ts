// API discovery: which optional kinds (the Prometheus Operator's) the cluster serves, asked once at start.
import type { KubeClients } from './client.kube.js';
import { isNotFound } from './errors.kube.js';

/** The kinds the API server serves in group/version; empty when it does not serve the group version (404). */
export async function servedKinds(clients: Pick<KubeClients, 'customObjects'>, group: string, version: string): Promise<Set<string>> {
  try {
    const list = await clients.customObjects.getAPIResources({ group, version });
    return new Set(list.resources.filter((r) => !r.name.includes('/')).map((r) => r.kind));
  } catch (err) {
    if (isNotFound(err)) return new Set();
    throw new Error(`while discovering the kinds of ${group}/${version}`, { cause: err });
  }
}

/** True when the cluster serves every one of `kinds` in group/version. */
export async function servesAll(clients: Pick<KubeClients, 'customObjects'>, group: string, version: string, kinds: readonly string[]): Promise<boolean> {
  const served = await servedKinds(clients, group, version);
  return kinds.every((k) => served.has(k));
}
