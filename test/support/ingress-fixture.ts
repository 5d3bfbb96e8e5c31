// Runs the test-only ingress fixture (test/fixtures/ingress-controller, docs/real-node.md "Ingress fixture") as a host
// process against a cluster, for the tests that need a controller serving Ingresses and Gateway API HTTPRoutes.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './cluster.js';
import { freePort } from './local-process.js';

const MAIN = join(repoRoot, 'test/fixtures/ingress-controller/main.ts');

/** A running fixture: its process, where it listens and its log (JSON lines, with nginx's complaints). */
export interface IngressFixture {
  child: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exit: Promise<number | null>;
  port: number;
  stateDir: string;
  /** The last lines of its log. */
  log(lines?: number): string;
  /** SIGTERM (the fixture stops its nginx, then exits), SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts the fixture on 127.0.0.1 (a free port), logging to <stateDir>/fixture.log. */
export async function startIngressFixture(opts: { kubeconfigPath: string; stateDir?: string; extraArgs?: string[] }): Promise<IngressFixture> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'ingress-fixture-'));
  const port = await freePort();
  const logPath = join(stateDir, 'fixture.log');
  const fd = openSync(logPath, 'a');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, '--kubeconfig', opts.kubeconfigPath, '--listen', `127.0.0.1:${port}`, '--state-dir', stateDir, ...(opts.extraArgs ?? [])],
    { cwd: repoRoot, stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exit,
    port,
    stateDir,
    log: (lines = 40) => {
      try {
        return readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // A SIGKILL would leave its nginx running: only when it does not stop by itself.
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
