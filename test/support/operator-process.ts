// Runs the operator as a real process (node operator/main.ts), as a Deployment would, and reads its
// Prometheus metrics from outside.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { getCluster, repoRoot, waitFor } from './cluster.js';
import { freePort } from './local-process.js';

/** An operator process with its HTTP port and collected output. */
export interface OperatorProcess {
  name: string;
  port: number;
  child: ChildProcess;
  logs: string[];
}

/** Starts `node operator/main.ts` as `name` watching namespace ns, and waits for its /readyz. */
export async function startOperatorProcess(name: string, ns: string, env: NodeJS.ProcessEnv = {}): Promise<OperatorProcess> {
  const cluster = await getCluster();
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'operator/main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      KUBECONFIG: cluster.kubeconfigPath,
      WATCH_NAMESPACE: ns,
      POD_NAMESPACE: ns,
      POD_NAME: name,
      GRAMINSTA_HTTP_HOST: '127.0.0.1',
      GRAMINSTA_HTTP_PORT: String(port),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: OperatorProcess = { name, port, child, logs: [] };
  child.stdout!.on('data', (d: Buffer) => p.logs.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => p.logs.push(d.toString()));
  await waitFor(`${name} to become ready`, 60_000, async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${p.logs.join('').slice(-2000)}`);
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    return res?.status === 200;
  });
  return p;
}

/** The process's /metrics text. */
export async function scrapeMetrics(p: OperatorProcess): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${p.port}/metrics`);
  return res.text();
}

/** Sums the samples of a metric in Prometheus text whose label string matches `where`. */
export function sumMetric(text: string, metric: string, where: (labels: string) => boolean = () => true): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${metric}(?:\\{([^}]*)\\})? ([0-9.e+-]+)$`).exec(line);
    if (m && where(m[1] ?? '')) total += Number(m[2]);
  }
  return total;
}
