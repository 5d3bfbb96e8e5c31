// Where the chart tests find helm.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlPath } from '../support/cluster.js';

/** The helm built with the control plane (next to its kubectl), else the one on PATH. */
export function helmPath(): string {
  const kubectl = kubectlPath();
  const built = join(kubectl, '..', 'helm');
  return kubectl !== 'kubectl' && existsSync(built) ? built : 'helm';
}
