// Helpers for tests that run real local server processes: free loopback ports, polling, and dropping root for servers that refuse it.
import net from 'node:net';

/** True when the tests run as root, so servers such as postgres must be started as another user. */
export const IS_ROOT = process.getuid?.() === 0;

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** `count` distinct free loopback ports: each listener is held until all are chosen, so no two are the same. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      ports.push(await new Promise<number>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
          const addr = srv.address();
          resolve(typeof addr === 'object' && addr ? addr.port : 0);
        });
      }));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
  }
}

/** Polls `check` until it returns true, or throws naming `what` (and the last error) after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const reason = last instanceof Error ? `; last error: ${last.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`, { cause: last });
}

/** The argv that runs `argv` as OS user `user` when the tests run as root (setpriv execs, so signals reach the program), else `argv` itself. */
export function asUser(user: string | undefined, argv: string[]): string[] {
  return IS_ROOT && user ? ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', ...argv] : argv;
}
