// The oldest Kubernetes the operator runs on, and the check of the API server's /version against it.
import { VersionApi, type VersionInfo } from '@kubernetes/client-node';
import type { KubeClients } from './client.kube.js';

/** The oldest Kubernetes minor the rendered objects work on: the single-machine pod runs Postgres as a native sidecar (1.29). */
export const MIN_KUBERNETES_VERSION = { major: 1, minor: 29 } as const;

/** A Kubernetes major.minor. */
export interface KubeVersion {
  major: number;
  minor: number;
}

/**
 * The major.minor of an API server's /version answer: from gitVersion (v1.29.3, v1.30.1-gke.100), else from
 * major and minor (minor "29+" on some managed clusters); null when neither reads as a version, or for an
 * unstamped build (v0.0.0), whose number says nothing.
 */
export function parseServerVersion(info: Pick<VersionInfo, 'gitVersion' | 'major' | 'minor'>): KubeVersion | null {
  const git = /^v?(\d+)\.(\d+)(\.|$|-|\+)/.exec(info.gitVersion ?? '');
  const fromFields = /^\d+/.test(info.major ?? '') && /^\d+/.test(info.minor ?? '');
  const version = git
    ? { major: Number(git[1]), minor: Number(git[2]) }
    : fromFields
      ? { major: parseInt(info.major, 10), minor: parseInt(info.minor, 10) }
      : null;
  if (!version || (version.major === 0 && version.minor === 0)) return null;
  return version;
}

/** Why the operator must not run on a server of this version (a sentence naming both versions), or null when it may. */
export function versionProblem(server: KubeVersion, min: KubeVersion = MIN_KUBERNETES_VERSION): string | null {
  const older = server.major < min.major || (server.major === min.major && server.minor < min.minor);
  if (!older) return null;
  return (
    `the API server runs Kubernetes ${server.major}.${server.minor}, older than ${min.major}.${min.minor}, the oldest this operator supports ` +
    `(the single-machine stage runs Postgres as a native sidecar container, which needs ${min.major}.${min.minor}); upgrade the cluster`
  );
}

/** The API server's /version answer. */
export async function readServerVersion(clients: KubeClients): Promise<VersionInfo> {
  try {
    return await new VersionApi(clients.configuration).getCode();
  } catch (cause) {
    throw new Error(`while reading the API server's /version: ${(cause as Error).message}`, { cause });
  }
}
