// The service's Redis Cluster client against a real redis-server whose slots are not all served yet, as while the
// operator forms or grows the cluster: a command for an unserved slot must fail like any cache error (the service
// then reads Postgres), never throw where nothing catches it.
import { expect } from 'chai';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRedis } from '../../../service/cache/redis.infra.js';
import { createLogger } from '../../../service/log.js';
import { freePorts, waitFor } from '../../support/local-process.js';

const execFileP = promisify(execFile);

describe('Redis Cluster client while slots are unserved (real redis-server)', function () {
  this.timeout(60000);
  let dir: string;
  let port: number;
  let proc: ChildProcess;
  const cli = async (...args: string[]) => (await execFileP('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])).stdout.trim();

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-redis-forming-'));
    // The cluster bus gets a free port of its own: by default Redis binds port + 10000, which may be taken.
    const [clientPort, busPort] = await freePorts(2);
    port = clientPort!;
    // One node serving slots 0-100 only; without full coverage required it reports cluster_state:ok, like a node
    // that has its own slots and has not yet heard of the others.
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', 'nodes.conf', '--cluster-require-full-coverage', 'no', '--cluster-announce-ip', '127.0.0.1'], { stdio: 'ignore' });
    await waitFor(`redis on ${port}`, async () => (await cli('ping').catch(() => '')) === 'PONG', 15000);
    await cli('cluster', 'addslotsrange', '0', '100');
    await waitFor('cluster_state:ok', async () => (await cli('cluster', 'info')).includes('cluster_state:ok'), 15000);
  });
  after(async () => {
    proc?.kill('SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('fails a command issued while connecting, for a slot no node serves, with an error the caller gets (no uncaught TypeError)', async () => {
    const key = 'user:1';
    expect(Number(await cli('cluster', 'keyslot', key)), 'the key is outside the served slots').to.be.greaterThan(100);
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    const client = createRedis({ mode: 'cluster', nodes: [{ host: '127.0.0.1', port }], password: '' }, createLogger('error'));
    try {
      // Issued at once, before the client has the slot map (what a new API pod does under traffic).
      const early = client.get(key).then(
        (v) => ({ ok: true as const, v }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      await waitFor('the client is ready', () => client.status === 'ready', 15000, 20);
      const result = await Promise.race([early, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 3000))]);
      await new Promise((r) => setTimeout(r, 200));
      expect(uncaught.map(String), 'uncaught exceptions').to.deep.equal([]);
      expect(result, 'the early command settles within 3 s').to.not.equal('pending');
      expect(result).to.include({ ok: false });
      // and the served slots still work
      const served = 'k126'; // slot 58
      expect(Number(await cli('cluster', 'keyslot', served))).to.be.at.most(100);
      await client.set(served, 'v');
      expect(await client.get(served)).to.equal('v');
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      client.disconnect();
    }
  });
});
