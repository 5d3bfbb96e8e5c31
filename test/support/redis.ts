// Starts real local redis-server processes (standalone, or a three-primary Redis Cluster) on free loopback ports, in temp dirs.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts, waitFor } from './local-process.js';

const execFileP = promisify(execFile);

/** A running Redis deployment: `nodes` as `host:port`; kill/restart simulate outages. */
export interface RedisDeployment {
  mode: 'standalone' | 'cluster';
  nodes: string[];
  /** Kills every node with SIGKILL (the data dir is kept). */
  kill: () => Promise<void>;
  /** Starts the killed nodes again on the same ports (a cluster is re-formed from its nodes.conf). */
  restart: () => Promise<void>;
  /** Kills every node and removes the temp dir. */
  stop: () => Promise<void>;
}

interface Node {
  port: number;
  /** The cluster bus port, chosen free like `port` (by default Redis binds port + 10000, which nobody checked). */
  busPort: number;
  dir: string;
  proc: ChildProcess | null;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await execFileP('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout;
}

function startNode(node: Node, cluster: boolean): void {
  const args = ['--port', String(node.port), '--bind', '127.0.0.1', '--dir', node.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'no'];
  if (cluster) args.push('--cluster-enabled', 'yes', '--cluster-port', String(node.busPort), '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000');
  // Its log in its dir, so that a node that does not come up says why (a port taken, a bad option).
  node.proc = spawn('redis-server', [...args, '--logfile', path.join(node.dir, 'redis.log')], { stdio: 'ignore' });
}

/** Waits until `node` answers PING; a node that exits or does not answer fails with the end of its log. */
async function waitUp(node: Node): Promise<void> {
  try {
    await waitFor(`redis on ${node.port}`, async () => {
      const exitCode = node.proc?.exitCode;
      if (exitCode !== null && exitCode !== undefined) throw new Error(`redis-server exited with ${exitCode}`);
      return (await cli(node.port, 'ping')).trim() === 'PONG';
    }, 15000);
  } catch (err) {
    const log = await fs.readFile(path.join(node.dir, 'redis.log'), 'utf8').catch(() => '');
    throw new Error(`${(err as Error).message}\n--- the end of redis.log of ${node.port}:\n${log.trimEnd().split('\n').slice(-10).join('\n')}`, { cause: err });
  }
}

async function killNode(node: Node): Promise<void> {
  const proc = node.proc;
  if (!proc || proc.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
  node.proc = null;
}

async function deployment(count: number, cluster: boolean): Promise<RedisDeployment> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-redis-'));
  const nodes: Node[] = [];
  const ports = await freePorts(2 * count);
  for (let i = 0; i < count; i++) {
    const dir = path.join(root, `n${i}`);
    await fs.mkdir(dir);
    nodes.push({ port: ports[2 * i]!, busPort: ports[2 * i + 1]!, dir, proc: null });
  }
  const killAll = async () => {
    await Promise.all(nodes.map(killNode));
  };
  /** Starts every node and waits until each answers; a cluster is formed first (`form`) or re-forms from its nodes.conf. */
  const startAll = async (form: boolean) => {
    for (const n of nodes) startNode(n, cluster);
    for (const n of nodes) await waitUp(n);
    if (!cluster) return;
    if (form) await execFileP('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    await waitFor('cluster state ok', async () => {
      for (const n of nodes) if (!(await cli(n.port, 'cluster', 'info')).includes('cluster_state:ok')) return false;
      return true;
    }, 30000, 200);
  };
  try {
    await startAll(true);
  } catch (err) {
    // Nodes that did start would keep the test process alive after its last test.
    await killAll();
    await fs.rm(root, { recursive: true, force: true });
    throw err;
  }
  return {
    mode: cluster ? 'cluster' : 'standalone',
    nodes: nodes.map((n) => `127.0.0.1:${n.port}`),
    kill: killAll,
    restart: () => startAll(false),
    stop: async () => {
      await killAll();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** Starts one standalone redis-server; call `stop()` when done. */
export function startRedis(): Promise<RedisDeployment> {
  return deployment(1, false);
}

/** Starts a Redis Cluster of three primaries (no replicas) and waits for cluster_state:ok; call `stop()` when done. */
export function startRedisCluster(): Promise<RedisDeployment> {
  return deployment(3, true);
}
