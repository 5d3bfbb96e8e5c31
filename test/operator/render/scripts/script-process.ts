// Runs the shipped sh scripts as real local processes for the data-tier integration tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../../support/cluster.js';
import { IS_ROOT, asUser, waitFor as sharedWaitFor } from '../../../support/local-process.js';

export { freePort } from '../../../support/local-process.js';

/** {@link sharedWaitFor} with the 200 ms default poll interval these tests were written with. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30000, intervalMs = 200): Promise<void> {
  await sharedWaitFor(what, check, timeoutMs, intervalMs);
}

/** Creates a temp directory owned by `user` (when running as root) so the scripts can write to it. */
export async function makeTempDir(prefix: string, user?: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  if (IS_ROOT && user) execFileSync('chown', [user, dir]);
  return dir;
}

/** A script started with `sh`, with its combined output kept for assertions. */
export interface ScriptProcess {
  readonly child: ChildProcess;
  /** Everything the process has written to stdout and stderr so far. */
  output: () => string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` to the process (redis-server is exec'ed; the postgres scripts pass it on to postgres) and waits for it to end, killing its group after `graceMs`. */
  stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<void>;
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone (ESRCH): a left-over `sleep` is what this is for
  }
}

/** A shipped entrypoint, by file name under operator/render/scripts/. */
export type ShippedScript = 'postgres-primary.sh' | 'postgres-backup.sh' | 'postgres-replica.sh' | 'postgres-replica-ready.sh' | 'redis-node.sh' | 'redis-cluster-form.sh' | 'redis-cluster-export.sh';

/** Options for {@link runScript}. */
export interface RunScriptOptions {
  /** The script, run with `sh` straight from the source tree (it sources lib.sh beside it). */
  script: ShippedScript;
  /** HOME and working directory of the process. */
  dir: string;
  env: Record<string, string>;
  args?: string[];
  /** OS user to run as when the tests run as root (postgres refuses to run as root). */
  user?: string;
}

/** Postgres binaries of the machine (PG_BIN overrides). */
export const PG_BIN_DIR = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * Runs a shipped Postgres script as the postgres user in `dir`, its volume in `dir`/volume, serving on
 * 127.0.0.1:`port` with fsync off, with the environment `env` on top.
 */
export function runPostgresScript(script: ShippedScript, dir: string, port: number, env: Record<string, string>): Promise<ScriptProcess> {
  return runScript({
    script,
    dir,
    user: 'postgres',
    env: {
      POSTGRES_BIN_DIR: PG_BIN_DIR,
      PGDATA: path.join(dir, 'volume', 'pgdata'),
      POSTGRES_PORT: String(port),
      POSTGRES_LISTEN_ADDRESSES: '127.0.0.1',
      POSTGRES_SOCKET_DIR: dir,
      ...env,
    },
    args: ['-c', 'fsync=off'],
  });
}

/** Runs a shipped script with `sh` and only the given environment (plus PATH and HOME). */
export async function runScript(opts: RunScriptOptions): Promise<ScriptProcess> {
  const file = path.join(repoRoot, 'operator', 'render', 'scripts', opts.script);
  const argv = ['sh', file, ...(opts.args ?? [])];
  const command = asUser(opts.user, argv);
  const child = spawn(command[0]!, command.slice(1), {
    cwd: opts.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.dir, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));
  let ended = false;
  void exited.then(() => (ended = true));
  const stop = async (signal: NodeJS.Signals = 'SIGINT', graceMs = 15000): Promise<void> => {
    if (ended) return;
    child.kill(signal);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([exited, timer])) === 'timeout' && child.pid) {
      process.kill(-child.pid, 'SIGKILL');
      await exited;
    }
    killGroup(child.pid);
  };
  return { child, output: () => out, exited, stop };
}
