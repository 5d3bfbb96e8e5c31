// SIGTERM on the real service process: it keeps serving through GRAMINSTA_SHUTDOWN_DELAY_SECONDS (readiness failing,
// `Connection: close`), then stops listening and exits 0 — in api, origin and web modes.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startPostgres, waitFor, type PgCluster } from '../support/postgres.js';
import { loadConfig } from '../../service/config.js';
import { createLogger } from '../../service/log.js';
import { runMigrate } from '../../service/app/server.infra.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DELAY_S = 2;

/** GET `p` on a fresh keep-alive connection: the status and the Connection header, or the error code when nothing answers. */
function get(port: number, p: string): Promise<{ status: number; connection: string } | { error: string }> {
  const agent = new http.Agent({ keepAlive: true });
  return new Promise<{ status: number; connection: string } | { error: string }>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: String(res.headers.connection ?? '') }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  }).finally(() => agent.destroy());
}

function exited(child: ChildProcess): Promise<{ code: number | null; at: number }> {
  if (child.exitCode !== null) return Promise.resolve({ code: child.exitCode, at: Date.now() });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, at: Date.now() })));
}

describe('graceful shutdown of the service process', function () {
  this.timeout(120000);
  let pg: PgCluster;
  let tmp: string;
  const base: Record<string, string> = {};
  before(async () => {
    pg = await startPostgres({ replica: false });
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-shutdown-'));
    await fs.mkdir(path.join(tmp, 'web'));
    await fs.writeFile(path.join(tmp, 'web', 'index.html'), '<!doctype html><title>t</title>');
    Object.assign(base, {
      GRAMINSTA_DB_HOST: pg.primary.host,
      GRAMINSTA_DB_PORT: String(pg.primary.port),
      GRAMINSTA_DB_PASSWORD: pg.password,
      GRAMINSTA_TOKEN_SECRET: 'test-secret-0123456789abcdef',
      GRAMINSTA_VOLUME_PATH: tmp,
      GRAMINSTA_ORIGIN_TOKEN: 'origin-secret',
      GRAMINSTA_WEB_ROOT: path.join(tmp, 'web'),
      GRAMINSTA_SHUTDOWN_DELAY_SECONDS: String(DELAY_S),
      LOG_LEVEL: 'error',
    });
    await runMigrate(loadConfig(base, 'migrate'), createLogger('error'));
  });
  after(async () => {
    await pg?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  for (const mode of ['api', 'origin', 'web'] as const) {
    it(`${mode}: keeps serving during the delay with /readyz 503 and Connection: close, then exits 0`, async () => {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'service', 'main.ts'), mode], {
        cwd: repoRoot,
        env: { ...process.env, ...base, PORT: String(port), GRAMINSTA_METRICS_PORT: String(await freePort()) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const exit = exited(child);
      try {
        await waitFor(`${mode} /readyz`, async () => {
          const r = await get(port, '/readyz');
          return 'status' in r && r.status === 200;
        });
        const before = await get(port, '/healthz');
        expect(before).to.deep.equal({ status: 200, connection: 'keep-alive' });

        const termAt = Date.now();
        child.kill('SIGTERM');
        // The signal has been handled once /readyz says 503 (however busy the machine); every request from then until
        // the listener closes must be served, with Connection: close. The sampling stops well before the close.
        await waitFor(`${mode} /readyz 503 after SIGTERM`, async () => {
          const r = await get(port, '/readyz');
          return 'status' in r && r.status === 503;
        }, (DELAY_S * 1000) / 2, 20);
        const during: Array<{ status: number; connection: string } | { error: string }> = [];
        const ready: Array<{ status: number; connection: string } | { error: string }> = [];
        while (Date.now() - termAt < DELAY_S * 1000 - 800) {
          during.push(await get(port, '/healthz'));
          ready.push(await get(port, '/readyz'));
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(during.length).to.be.greaterThan(2);
        expect(during.every((r) => 'status' in r && r.status === 200), JSON.stringify(during)).to.equal(true);
        expect(during.every((r) => 'connection' in r && r.connection === 'close'), JSON.stringify(during)).to.equal(true);
        expect(ready.every((r) => 'status' in r && r.status === 503), JSON.stringify(ready)).to.equal(true);

        const { code, at } = await exit;
        expect(code, stderr).to.equal(0);
        expect(at - termAt).to.be.at.least(DELAY_S * 1000 - 100);
        expect(await get(port, '/healthz')).to.deep.equal({ error: 'ECONNREFUSED' });
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    });
  }
});
