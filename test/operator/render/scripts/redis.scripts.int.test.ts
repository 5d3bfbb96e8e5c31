import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { Cluster, Redis } from 'ioredis';
import { createRedis } from '../../../../service/cache/redis.infra.js';
import { createLogger } from '../../../../service/log.js';
import { app, render } from '../helpers.js';
import { freePort, makeTempDir, runScript, waitFor, type ScriptProcess } from './script-process.js';

use(chaiAsPromised);

const PASSWORD = 'cache-secret';
const NODE_COUNT = 6;

/** One line of CLUSTER NODES. */
interface NodeLine {
  id: string;
  addr: string;
  flags: string[];
  masterId: string;
  link: string;
  slots: string[];
}

async function command(port: number, args: string[], password = PASSWORD): Promise<string> {
  const client = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  await client.connect();
  try {
    return String(await client.call(args[0]!, ...args.slice(1)));
  } finally {
    client.disconnect();
  }
}

async function clusterInfo(port: number): Promise<Record<string, string>> {
  const text = await command(port, ['CLUSTER', 'INFO']);
  return Object.fromEntries(text.split(/\r?\n/).filter(Boolean).map((l) => l.split(':') as [string, string]));
}

async function clusterNodes(port: number): Promise<NodeLine[]> {
  const text = await command(port, ['CLUSTER', 'NODES']);
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, addr, flags, masterId, , , , link, ...slots] = line.split(' ');
      return { id: id!, addr: addr!.split('@')[0]!.split(',')[0]!, flags: flags!.split(','), masterId: masterId!, link: link!, slots };
    });
}

describe('redis data-tier scripts against real redis-server processes', function () {
  this.timeout(240000);
  let root: string;
  const running: ScriptProcess[] = [];

  interface Node {
    index: number;
    port: number;
    bus: number;
    proc: ScriptProcess;
  }

  async function startNode(index: number, peers: string, ports?: [number, number]): Promise<Node> {
    const dir = path.join(root, `node-${index}`);
    await fs.mkdir(dir, { recursive: true });
    const [port, bus] = ports ?? [await freePort(), await freePort()];
    const proc = await runScript({
      script: 'redis-node.sh',
      dir,
      env: {
        REDIS_DATA_DIR: path.join(dir, 'data'),
        REDIS_RUNTIME_DIR: dir,
        REDIS_PORT: String(port),
        REDIS_CLUSTER_BUS_PORT: String(bus),
        REDIS_PASSWORD: PASSWORD,
        REDIS_BIND: '127.0.0.1',
        REDIS_ANNOUNCE_IP: '127.0.0.1',
        REDIS_CLUSTER_NODES: peers,
        REDIS_CLUSTER_NODE_TIMEOUT_MS: '3000',
      },
    });
    running.push(proc);
    await waitFor(`node ${index} on port ${port}\n${proc.output()}`, async () => (await command(port, ['PING'])) === 'PONG', 10000);
    return { index, port, bus, proc };
  }

  /** Starts a standalone redis-node.sh in root/<name>; resolves with its port and directory once it answers. */
  async function startStandalone(name: string): Promise<{ port: number; dir: string }> {
    const dir = path.join(root, name);
    await fs.mkdir(dir);
    const port = await freePort();
    const proc = await runScript({
      script: 'redis-node.sh',
      dir,
      env: { REDIS_MODE: 'standalone', REDIS_PORT: String(port), REDIS_DATA_DIR: dir, REDIS_RUNTIME_DIR: dir, REDIS_PASSWORD: PASSWORD, REDIS_BIND: '127.0.0.1' },
    });
    running.push(proc);
    await waitFor(`standalone redis on ${port}\n${proc.output()}`, async () => (await command(port, ['PING']).catch(() => '')) === 'PONG', 10000);
    return { port, dir };
  }

  async function form(nodes: Node[], extraEnv: Record<string, string> = {}): Promise<ScriptProcess> {
    const proc = await runScript({
      script: 'redis-cluster-form.sh',
      dir: root,
      env: {
        REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
        REDIS_CLUSTER_REPLICAS: '1',
        REDIS_PASSWORD: PASSWORD,
        REDIS_OK_TIMEOUT_SECONDS: '60',
        ...extraEnv,
      },
    });
    running.push(proc);
    return proc;
  }

  /** Every node sees every listed node connected at its current address, 3 primaries with one replica each, nothing failing, all slots served; throws saying what is wrong. */
  async function isHealthy(nodes: Node[]): Promise<boolean> {
    const expected = nodes.map((n) => `127.0.0.1:${n.port}`).sort();
    for (const node of nodes) {
      const info = await clusterInfo(node.port);
      if (info.cluster_state !== 'ok' || info.cluster_slots_assigned !== '16384' || info.cluster_slots_ok !== '16384') {
        throw new Error(`node ${node.port}: ${JSON.stringify(info)}`);
      }
      const lines = await clusterNodes(node.port);
      const bad = lines.some((l) => l.link !== 'connected' || l.flags.some((f) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(f)));
      const masters = lines.filter((l) => l.flags.includes('master'));
      const shapeOk = masters.length === 3 && masters.every((m) => m.slots.length > 0 && lines.filter((r) => r.masterId === m.id).length === 1);
      if (bad || !shapeOk || lines.map((l) => l.addr).sort().join() !== expected.join()) {
        throw new Error(`node ${node.port} sees:\n${lines.map((l) => `${l.id} ${l.addr} ${l.flags.join(',')} ${l.masterId} ${l.link} ${l.slots.join(' ')}`).join('\n')}`);
      }
    }
    return true;
  }

  async function waitHealthy(nodes: Node[], what: string, timeoutMs = 60000): Promise<void> {
    await waitFor(`${what}: a healthy cluster of ${nodes.map((n) => n.port).join(',')}`, () => isHealthy(nodes), timeoutMs, 500);
  }

  function peersOf(ports: Array<[number, number]>): string {
    return ports.map(([port, bus]) => `127.0.0.1:${port}@${bus}`).join(' ');
  }

  before(async () => {
    root = await makeTempDir('graminsta-redisscripts-');
  });

  after(async () => {
    for (const proc of running.reverse()) await proc.stop('SIGTERM');
    await fs.rm(root, { recursive: true, force: true });
  });

  describe('a 3-primary, 1-replica-per-shard cluster', () => {
    let nodes: Node[] = [];

    it('forms the cluster once all six nodes are up', async () => {
      for (let i = 0; i < NODE_COUNT; i++) nodes.push(await startNode(i, ''));
      const run = await form(nodes);
      expect(await run.exited, run.output()).to.equal(0);
      expect(run.output()).to.contain('creating the cluster');

      await waitHealthy(nodes, 'after forming');
      const info = await clusterInfo(nodes[0]!.port);
      expect(info).to.include({ cluster_state: 'ok', cluster_slots_assigned: '16384', cluster_known_nodes: '6', cluster_size: '3' });
      const lines = await clusterNodes(nodes[0]!.port);
      const masters = lines.filter((l) => l.flags.includes('master'));
      const replicas = lines.filter((l) => l.flags.includes('slave'));
      expect(masters).to.have.length(3);
      expect(replicas).to.have.length(3);
      expect(masters.map((m) => replicas.filter((r) => r.masterId === m.id).length)).to.deep.equal([1, 1, 1]);

      const client = new Cluster([{ host: '127.0.0.1', port: nodes[0]!.port }], { redisOptions: { password: PASSWORD } });
      try {
        for (let i = 0; i < 50; i++) await client.set(`user:${i}`, `profile ${i}`);
        expect(await client.get('user:42')).to.equal('profile 42');
      } finally {
        client.disconnect();
      }
    });

    it('does nothing when run again on the formed cluster', async () => {
      const before = await clusterNodes(nodes[0]!.port);
      const epochBefore = (await clusterInfo(nodes[0]!.port)).cluster_current_epoch;
      const run = await form(nodes);
      expect(await run.exited, run.output()).to.equal(0);
      expect(run.output()).to.contain('already formed');
      expect(run.output()).not.to.contain('creating');
      expect((await clusterInfo(nodes[0]!.port)).cluster_current_epoch).to.equal(epochBefore);
      const after = await clusterNodes(nodes[0]!.port);
      expect(after.map((l) => [l.id, l.flags, l.slots])).to.deep.equal(before.map((l) => [l.id, l.flags, l.slots]));
    });

    it('stays formed when one primary comes back on a new address with its old nodes.conf', async () => {
      const lines = await clusterNodes(nodes[0]!.port);
      const victim = nodes.find((n) => lines.some((l) => l.addr === `127.0.0.1:${n.port}` && l.flags.includes('master')))!;
      const victimId = lines.find((l) => l.addr === `127.0.0.1:${victim.port}`)!.id;
      await victim.proc.stop('SIGTERM');
      const moved = await startNode(victim.index, '');
      expect(moved.port).to.not.equal(victim.port);
      nodes = nodes.map((n) => (n === victim ? moved : n));
      // The started node re-meets its peers only when it has REDIS_CLUSTER_NODES; this one has none,
      // so this checks that a single moved node is healed by its own pings to unchanged peers.
      await waitHealthy(nodes, 'after one primary moved');
      const after = await clusterNodes(nodes[0]!.port);
      expect(after.find((l) => l.addr === `127.0.0.1:${moved.port}`)?.id).to.equal(victimId);
      expect(moved.proc.output()).to.contain(`restarting cluster node ${victimId}`);

      const run = await form(nodes);
      expect(await run.exited, run.output()).to.equal(0);
      expect(run.output()).to.contain('already formed');
    });

    it('stays formed when every node comes back on a new address at once, by re-meeting the peers it is given', async () => {
      const ids = (await clusterNodes(nodes[0]!.port)).map((l) => l.id).sort();
      for (const node of nodes) await node.proc.stop('SIGTERM');
      const ports: Array<[number, number]> = [];
      for (let i = 0; i < NODE_COUNT; i++) ports.push([await freePort(), await freePort()]);
      const peers = peersOf(ports);

      const restarted: Node[] = [];
      for (let i = 0; i < NODE_COUNT; i++) restarted.push(await startNode(i, peers, ports[i]));
      nodes = restarted;
      await waitHealthy(nodes, 'after all nodes moved');
      expect((await clusterNodes(nodes[0]!.port)).map((l) => l.id).sort()).to.deep.equal(ids);
      await waitFor('a node to log that re-meeting its peers worked', () => nodes.some((n) => n.proc.output().includes('cluster is ok after re-meeting peers')), 15000);

      const run = await form(nodes);
      expect(await run.exited, run.output()).to.equal(0);
      expect(run.output()).to.contain('already formed');
    });

    it('joins a replica that came back empty on a new address and forgets its old identity', async () => {
      const lines = await clusterNodes(nodes[0]!.port);
      const victim = nodes.find((n) => lines.some((l) => l.addr === `127.0.0.1:${n.port}` && l.flags.includes('slave')))!;
      const oldId = lines.find((l) => l.addr === `127.0.0.1:${victim.port}`)!.id;
      await victim.proc.stop('SIGTERM');
      await fs.rm(path.join(root, `node-${victim.index}`, 'data'), { recursive: true });
      const fresh = await startNode(victim.index, '');
      nodes = nodes.map((n) => (n === victim ? fresh : n));

      const run = await form(nodes);
      expect(await run.exited, run.output()).to.equal(0);
      expect(run.output()).to.contain('came back empty');
      expect(run.output()).to.contain(`forgetting failed node ${oldId}`);
      expect(run.output()).not.to.contain('creating');
      await waitHealthy(nodes, 'after the empty replica joined');
      const after = await clusterNodes(nodes[0]!.port);
      expect(after.map((l) => l.id)).not.to.include(oldId);
      const masters = after.filter((l) => l.flags.includes('master'));
      const replicas = after.filter((l) => l.flags.includes('slave'));
      expect(masters.map((m) => replicas.filter((r) => r.masterId === m.id).length).sort()).to.deep.equal([1, 1, 1]);
    });
  });

  describe('resizing, with keys written before and read after (a reader counts its errors during each move)', () => {
    /** Keys written before each move (GRAMINSTA_RESHARD_KEYS), each with a TTL of an hour. */
    const KEYS = Number(process.env.GRAMINSTA_RESHARD_KEYS ?? 5000);
    const TTL_SECONDS = 3600;
    const peers = (ns: Node[]) => ns.map((n) => `127.0.0.1:${n.port}@${n.bus}`).join(' ');
    let nodes: Node[] = [];
    let spare: Node[] = [];

    /** Writes user:0 .. user:<KEYS - 1> through the service's own client, with their TTL. */
    async function writeKeys(client: Redis | Cluster, prefix: string): Promise<void> {
      for (let i = 0; i < KEYS; i += 500) {
        await Promise.all(Array.from({ length: Math.min(500, KEYS - i) }, (_, j) => client.set(`${prefix}:${i + j}`, `profile ${i + j}`, 'EX', TTL_SECONDS)));
      }
    }

    /** Reads every key back: how many are missing or wrong, and how many lost their TTL. */
    async function readKeys(client: Redis | Cluster, prefix: string): Promise<{ missing: number; ttlLost: number }> {
      let missing = 0;
      let ttlLost = 0;
      for (let i = 0; i < KEYS; i += 500) {
        const batch = Array.from({ length: Math.min(500, KEYS - i) }, (_, j) => i + j);
        const values = await Promise.all(batch.map((k) => client.get(`${prefix}:${k}`)));
        const ttls = await Promise.all(batch.map((k) => client.ttl(`${prefix}:${k}`)));
        values.forEach((v, j) => (missing += v === `profile ${batch[j]}` ? 0 : 1));
        ttls.forEach((t) => (ttlLost += t > 0 && t <= TTL_SECONDS ? 0 : 1));
      }
      return { missing, ttlLost };
    }

    /** The service's own client (createRedis: no offline queue, 300 ms command timeout), once it is ready. */
    async function serviceClient(mode: 'cluster' | 'standalone', port: number): Promise<Redis | Cluster> {
      const client = createRedis({ mode, nodes: [{ host: '127.0.0.1', port }], password: PASSWORD }, createLogger('error'));
      await waitFor(`the ${mode} client of ${port}`, () => client.status === 'ready', 15000);
      return client;
    }
    /** A plain client without the service's short timeouts, to write and check the keys on a loaded machine. */
    async function checkClient(mode: 'cluster' | 'standalone', port: number): Promise<Redis | Cluster> {
      const client =
        mode === 'cluster'
          ? new Cluster([{ host: '127.0.0.1', port }], { redisOptions: { password: PASSWORD } })
          : new Redis({ host: '127.0.0.1', port, password: PASSWORD });
      await waitFor(`the ${mode} check client of ${port}`, () => client.status === 'ready', 15000);
      return client;
    }
    /** Writes (prefix:i) through a plain client of mode at port. */
    async function seed(mode: 'cluster' | 'standalone', port: number, prefix: string): Promise<void> {
      const client = await checkClient(mode, port);
      try {
        await writeKeys(client, prefix);
      } finally {
        client.disconnect();
      }
    }
    /** Reads every key back through a plain client of mode at port. */
    async function check(mode: 'cluster' | 'standalone', port: number, prefix: string): Promise<{ missing: number; ttlLost: number }> {
      const client = await checkClient(mode, port);
      try {
        return await readKeys(client, prefix);
      } finally {
        client.disconnect();
      }
    }
    const clusterClient = (port: number) => serviceClient('cluster', port);

    /** A client that reads the keys one after the other (as the service would) until stopped, counting errors and wrong answers. */
    function startReader(client: Redis | Cluster, prefix: string): () => Promise<{ reads: number; errors: number; wrong: number; firstError?: string }> {
      let stop = false;
      const stats: { reads: number; errors: number; wrong: number; firstError?: string } = { reads: 0, errors: 0, wrong: 0 };
      const loop = (async () => {
        for (let i = 0; !stop; i = (i + 1) % KEYS) {
          try {
            const v = await client.get(`${prefix}:${i}`);
            stats.reads++;
            if (v !== `profile ${i}`) stats.wrong++;
          } catch (err) {
            stats.errors++;
            stats.firstError ??= (err as Error).message;
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      })();
      return async () => {
        stop = true;
        await loop;
        return stats;
      };
    }

    /** The cluster's shape as node `port` sees it: primaries serving slots, the wanted replicas of each, every node's address. */
    async function shape(port: number): Promise<{ primaries: number; replicas: number[]; addrs: string[]; bad: string[] }> {
      const lines = await clusterNodes(port);
      const masters = lines.filter((l) => l.flags.includes('master') && l.slots.length > 0);
      return {
        primaries: masters.length,
        replicas: masters.map((m) => lines.filter((r) => r.masterId === m.id && r.flags.includes('slave')).length),
        addrs: lines.map((l) => l.addr).sort(),
        bad: lines.filter((l) => l.link !== 'connected' || l.flags.some((f) => ['fail', 'fail?', 'handshake', 'noaddr'].includes(f))).map((l) => `${l.addr} ${l.flags.join(',')}`),
      };
    }

    async function expectShape(ns: Node[], primaries: number, replicas: number): Promise<void> {
      await waitFor(`a cluster of ${primaries} primaries with ${replicas} replica(s) each over ${ns.map((n) => n.port).join(',')}`, async () => {
        for (const n of ns) {
          const info = await clusterInfo(n.port);
          const s = await shape(n.port);
          if (info.cluster_state !== 'ok' || info.cluster_slots_ok !== '16384') return false;
          if (s.primaries !== primaries || s.replicas.some((r) => r !== replicas) || s.bad.length > 0) return false;
          if (s.addrs.join() !== ns.map((x) => `127.0.0.1:${x.port}`).sort().join()) return false;
        }
        return true;
      }, 60000, 500);
    }


    async function timedForm(ns: Node[], what: string, extraEnv: Record<string, string> = {}): Promise<number> {
      const started = Date.now();
      const run = await form(ns, extraEnv);
      expect(await run.exited, run.output()).to.equal(0);
      const ms = Date.now() - started;
      return ms;
    }

    function report(what: string, ms: number, stats: { reads: number; errors: number; wrong: number; firstError?: string }): void {
      console.log(`      [reshard] ${what}: ${(ms / 1000).toFixed(1)} s with ${KEYS} keys; reader: ${stats.reads} reads, ${stats.errors} errors, ${stats.wrong} wrong or missing${stats.firstError ? ` (first error: ${stats.firstError})` : ''}`);
    }

    before(async () => {
      for (let i = 0; i < 6; i++) nodes.push(await startNode(100 + i, ''));
      const run = await form(nodes);
      expect(await run.exited, run.output()).to.equal(0);
      await expectShape(nodes, 3, 1);
      await seed('cluster', nodes[0]!.port, 'user');
    });

    it('grows 3 -> 6 shards: the new nodes become primaries with one replica each and slots move to them', async () => {
      for (let i = 6; i < 12; i++) spare.push(await startNode(100 + i, ''));
      const grown = [...nodes, ...spare];
      const client = await clusterClient(nodes[0]!.port);
      try {
        const stopReader = startReader(client, 'user');
        const ms = await timedForm(grown, 'grow');
        const stats = await stopReader();
        report('grow 3 -> 6 shards (6 -> 12 nodes)', ms, stats);
        await expectShape(grown, 6, 1);
        const lines = await clusterNodes(nodes[0]!.port);
        const newPrimaries = lines.filter((l) => l.flags.includes('master') && spare.some((n) => l.addr === `127.0.0.1:${n.port}`));
        expect(newPrimaries, 'three of the new nodes are primaries').to.have.length(3);
        expect(newPrimaries.every((m) => m.slots.length > 0)).to.equal(true);
        expect(await check('cluster', nodes[0]!.port, 'user')).to.deep.equal({ missing: 0, ttlLost: 0 });
        expect(stats.wrong).to.equal(0);
      } finally {
        client.disconnect();
      }
      nodes = grown;
      spare = [];
    });

    it('shrinks 6 -> 3 shards with a primary on a leaving ordinal (forced failover): slots move off, replicas are re-pointed, leaving nodes deleted', async () => {
      const staying = nodes.slice(0, 6);
      const leaving = nodes.slice(6);
      // Make a leaving node the primary of a staying one: point a leaving replica at a staying primary, then fail over to it.
      let lines = await clusterNodes(nodes[0]!.port);
      const stayingPrimary = lines.find((l) => l.flags.includes('master') && staying.some((n) => l.addr === `127.0.0.1:${n.port}`))!;
      const leavingReplica = lines.find((l) => l.flags.includes('slave') && leaving.some((n) => l.addr === `127.0.0.1:${n.port}`))!;
      const leavingPort = Number(leavingReplica.addr.split(':')[1]);
      expect(await command(leavingPort, ['CLUSTER', 'REPLICATE', stayingPrimary.id])).to.equal('OK');
      await waitFor('the leaving replica to sync', async () => /master_link_status:up/.test(await command(leavingPort, ['INFO', 'replication'])), 30000);
      expect(await command(leavingPort, ['CLUSTER', 'FAILOVER'])).to.equal('OK');
      await waitFor('the leaving node to be a primary', async () => (await clusterNodes(nodes[0]!.port)).some((l) => l.id === leavingReplica.id && l.flags.includes('master')), 30000);
      lines = await clusterNodes(nodes[0]!.port);
      const leavingPrimaries = lines.filter((l) => l.flags.includes('master') && l.slots.length > 0 && leaving.some((n) => l.addr === `127.0.0.1:${n.port}`));
      expect(leavingPrimaries.length, 'leaving ordinals that are primaries').to.be.at.least(2);

      const client = await clusterClient(staying[0]!.port);
      try {
        const stopReader = startReader(client, 'user');
        const ms = await timedForm(staying, 'shrink');
        const stats = await stopReader();
        report('shrink 6 -> 3 shards (12 -> 6 nodes)', ms, stats);
        // Only now does the StatefulSet lose its ordinals.
        for (const n of leaving) await n.proc.stop('SIGTERM');
        await expectShape(staying, 3, 1);
        expect(await check('cluster', nodes[0]!.port, 'user')).to.deep.equal({ missing: 0, ttlLost: 0 });
        expect(stats.wrong).to.equal(0);
      } finally {
        client.disconnect();
      }
      nodes = staying;
    });

    it('a primary that restarts empty (its volume lost) is rejoined as a replica by itself, its old identity forgotten, without a form Job', async () => {
      const lines = await clusterNodes(nodes[0]!.port);
      const victim = nodes.find((n) => lines.some((l) => l.addr === `127.0.0.1:${n.port}` && l.flags.includes('master')))!;
      const oldId = lines.find((l) => l.addr === `127.0.0.1:${victim.port}`)!.id;
      const others = nodes.filter((n) => n !== victim);
      const client = await clusterClient(others[0]!.port);
      try {
        const stopReader = startReader(client, 'user');
        const started = Date.now();
        await victim.proc.stop('SIGKILL');
        await fs.rm(path.join(root, `node-${victim.index}`, 'data'), { recursive: true });
        // A new pod (a new volume) gets a new address; at the old one its replica would resync from the empty node.
        const ports: [number, number] = [await freePort(), await freePort()];
        const wanted = `${peers(others)} 127.0.0.1:${ports[0]}@${ports[1]}`;
        const fresh = await startNode(victim.index, wanted, ports);
        nodes = nodes.map((n) => (n === victim ? fresh : n));
        await expectShape(nodes, 3, 1).catch((err: Error) => {
          throw new Error(`${err.message}\nthe restarted node's output:\n${fresh.proc.output()}`);
        });
        const stats = await stopReader();
        report('rejoin of an emptied primary (failover + self-join)', Date.now() - started, stats);
        // Reads fail while the replica takes over from the killed primary; none may answer a wrong or missing value.
        expect(stats.wrong, 'reads answered with a wrong or missing value during the failover').to.equal(0);
        expect(fresh.proc.output()).to.contain('joining the cluster as a replica');
        expect((await clusterNodes(nodes[0]!.port)).map((l) => l.id)).not.to.include(oldId);
        expect(await check('cluster', nodes[0]!.port, 'user')).to.deep.equal({ missing: 0, ttlLost: 0 });
      } finally {
        client.disconnect();
      }
      const run = await form(nodes);
      expect(await run.exited, run.output()).to.equal(0);
      expect(run.output()).to.contain('already formed');
    });

    it('a new node of a grow does not join by itself as a replica: it waits for the form script to make it a primary', async () => {
      // Wanted: the six nodes, this one and one more, so 4 primaries with a replica each: the cluster has 3.
      const ports: Array<[number, number]> = [[await freePort(), await freePort()], [await freePort(), await freePort()]];
      const wanted = `${peers(nodes)} ${ports.map(([p, b]) => `127.0.0.1:${p}@${b}`).join(' ')}`;
      const extra = await startNode(200, wanted, ports[0]);
      await new Promise((r) => setTimeout(r, 8000));
      expect(await clusterInfo(extra.port)).to.include({ cluster_known_nodes: '1' });
      expect(extra.proc.output()).not.to.contain('joining the cluster');
      await extra.proc.stop('SIGTERM');
    });

    it('copies a standalone\'s keys, TTLs kept, into a new cluster (cache.shards 1 -> 3) as the operator runs it: the form Job, then the copy Job (the form script again, with REDIS_IMPORT_FROM)', async () => {
      const { port } = await startStandalone('standalone-src');
      const standalone = await serviceClient('standalone', port);
      const fresh: Node[] = [];
      for (let i = 0; i < 6; i++) fresh.push(await startNode(300 + i, ''));
      try {
        await seed('standalone', port, 'solo');
        const stopReader = startReader(standalone, 'solo');
        await timedForm(fresh, 'form');
        await expectShape(fresh, 3, 1);
        const ms = await timedForm(fresh, 'import', { REDIS_IMPORT_FROM: `127.0.0.1:${port}` });
        const stats = await stopReader();
        report('standalone -> cluster of 3 shards (copy Job on the formed cluster)', ms, stats);
        expect(stats.errors + stats.wrong, 'the standalone answered every read while its keys were copied').to.equal(0);
        await expectShape(fresh, 3, 1);
        expect(await check('cluster', fresh[0]!.port, 'solo')).to.deep.equal({ missing: 0, ttlLost: 0 });
      } finally {
        standalone.disconnect();
      }
      for (const n of fresh) await n.proc.stop('SIGTERM');
    });

    it('copies a cluster\'s keys, TTLs kept, into a new standalone (cache.shards 3 -> 1)', async () => {
      const { port } = await startStandalone('standalone-dst');
      const client = await clusterClient(nodes[0]!.port);
      const standalone = await serviceClient('standalone', port);
      try {
        const stopReader = startReader(client, 'user');
        const started = Date.now();
        const run = await runScript({
          script: 'redis-cluster-export.sh',
          dir: root,
          // One address, as the operator's copy Job gives it (the cluster's Service): any node names the primaries.
          env: { REDIS_CLUSTER_NODES: `127.0.0.1:${nodes[1]!.port}`, REDIS_EXPORT_TO: `127.0.0.1:${port}`, REDIS_PASSWORD: PASSWORD },
        });
        running.push(run);
        expect(await run.exited, run.output()).to.equal(0);
        const stats = await stopReader();
        report('cluster of 3 shards -> standalone (export)', Date.now() - started, stats);
        expect(stats.errors + stats.wrong, 'the cluster answered every read while its keys were copied').to.equal(0);
        expect(run.output()).to.contain(`copied ${KEYS} keys from 3 primaries`);
        expect(await check('standalone', port, 'user')).to.deep.equal({ missing: 0, ttlLost: 0 });
      } finally {
        client.disconnect();
        standalone.disconnect();
      }
    });
  });

  it('runs standalone redis that requires the password', async () => {
    const { port, dir } = await startStandalone('standalone');
    await expect(command(port, ['PING'], '')).to.be.rejectedWith(/NOAUTH/);
    await expect(command(port, ['AUTH', 'wrong'], '')).to.be.rejectedWith(/WRONGPASS/);
    expect(await command(port, ['SET', 'user:1', 'alice'])).to.equal('OK');
    expect(await command(port, ['GET', 'user:1'])).to.equal('alice');
    expect(await command(port, ['INFO', 'server'])).to.match(/redis_mode:standalone/);
    const conf = await fs.stat(path.join(dir, `redis-${port}.conf`));
    expect(conf.mode & 0o077, 'redis.conf holds the password: not readable by others').to.equal(0);
  });

  it('reads the password from REDIS_PASSWORD_FILE, and the rendered probe authenticates with that file', async () => {
    const dir = path.join(root, 'from-file');
    await fs.mkdir(dir);
    const file = path.join(dir, 'password');
    await fs.writeFile(file, `${PASSWORD}\n`, { mode: 0o400 });
    const port = await freePort();
    const env = { REDIS_MODE: 'standalone', REDIS_PORT: String(port), REDIS_DATA_DIR: dir, REDIS_RUNTIME_DIR: dir, REDIS_PASSWORD_FILE: file, REDIS_BIND: '127.0.0.1' };
    const proc = await runScript({ script: 'redis-node.sh', dir, env });
    running.push(proc);
    await waitFor(`redis on ${port}\n${proc.output()}`, async () => (await command(port, ['PING'])) === 'PONG', 10000);
    await expect(command(port, ['PING'], '')).to.be.rejectedWith(/NOAUTH/);

    const redis = render(app({ users: 100000 })).find((o) => o.kind === 'StatefulSet' && o.metadata?.name === 'graminsta-redis') as V1StatefulSet;
    const container = redis.spec!.template.spec!.containers[0]!;
    expect(container.env!.map((e) => e.name)).to.include('REDIS_PASSWORD_FILE').and.not.include('REDISCLI_AUTH');
    const probe = container.readinessProbe!.exec!.command!.map((arg) => arg.replace('-p 6379', `-p ${port}`));
    const run = (passwordFile: string) => spawnSync(probe[0]!, probe.slice(1), { env: { PATH: process.env.PATH, REDIS_PASSWORD_FILE: passwordFile } }).status;
    expect(run(file), 'probe with the mounted password').to.equal(0);
    const wrong = path.join(dir, 'wrong');
    await fs.writeFile(wrong, 'nope');
    expect(run(wrong), 'probe with a wrong password').to.not.equal(0);

    const both = await runScript({ script: 'redis-node.sh', dir, env: { ...env, REDIS_PASSWORD: PASSWORD } });
    expect(await both.exited).to.equal(1);
    expect(both.output()).to.contain('REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set');
  });

  it('scripts name the missing or bad variable and exit 1', async () => {
    const noNodes = await runScript({ script: 'redis-cluster-form.sh', dir: root, env: {} });
    expect(await noNodes.exited).to.equal(1);
    expect(noNodes.output()).to.contain('REDIS_CLUSTER_NODES is required');

    const uneven = await runScript({
      script: 'redis-cluster-form.sh',
      dir: root,
      env: { REDIS_CLUSTER_NODES: 'a:1 b:2 c:3 d:4 e:5', REDIS_CLUSTER_REPLICAS: '1' },
    });
    expect(await uneven.exited).to.equal(1);
    expect(uneven.output()).to.contain('not a multiple of 1 + REDIS_CLUSTER_REPLICAS');

    const tooFew = await runScript({ script: 'redis-cluster-form.sh', dir: root, env: { REDIS_CLUSTER_NODES: 'a:1,b:2', REDIS_CLUSTER_REPLICAS: '1' } });
    expect(await tooFew.exited).to.equal(1);
    expect(tooFew.output()).to.contain('at least 3 primaries');

    const badPort = await runScript({ script: 'redis-cluster-form.sh', dir: root, env: { REDIS_CLUSTER_NODES: 'a:1 b:x c:3' } });
    expect(await badPort.exited).to.equal(1);
    expect(badPort.output()).to.contain("port of 'b:x' in REDIS_CLUSTER_NODES");

    const badImport = await runScript({ script: 'redis-cluster-form.sh', dir: root, env: { REDIS_CLUSTER_NODES: 'a:1 b:2 c:3', REDIS_CLUSTER_REPLICAS: '0', REDIS_IMPORT_FROM: 'standalone' } });
    expect(await badImport.exited).to.equal(1);
    expect(badImport.output()).to.contain("REDIS_IMPORT_FROM must be host:port, got 'standalone'");

    const noTarget = await runScript({ script: 'redis-cluster-export.sh', dir: root, env: { REDIS_CLUSTER_NODES: 'a:1' } });
    expect(await noTarget.exited).to.equal(1);
    expect(noTarget.output()).to.contain('REDIS_EXPORT_TO is required');

    const bothLists = await runScript({ script: 'redis-node.sh', dir: root, env: { REDIS_CLUSTER_NODES: 'a:1', REDIS_CLUSTER_NODES_FILE: '/nonexistent', REDIS_DATA_DIR: root } });
    expect(await bothLists.exited).to.equal(1);
    expect(bothLists.output()).to.contain('REDIS_CLUSTER_NODES and REDIS_CLUSTER_NODES_FILE are both set');

    const badMode = await runScript({ script: 'redis-node.sh', dir: root, env: { REDIS_MODE: 'sentinel', REDIS_DATA_DIR: root } });
    expect(await badMode.exited).to.equal(1);
    expect(badMode.output()).to.contain('REDIS_MODE must be cluster or standalone');
  });

  it('the form script gives up with the unreachable nodes named after REDIS_WAIT_TIMEOUT_SECONDS', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const run = await runScript({
      script: 'redis-cluster-form.sh',
      dir: root,
      env: { REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(' '), REDIS_CLUSTER_REPLICAS: '0', REDIS_WAIT_TIMEOUT_SECONDS: '2' },
    });
    expect(await run.exited).to.equal(1);
    expect(run.output()).to.match(new RegExp(`nodes not reachable after \\d+s: 127\\.0\\.0\\.1:${ports[0]}`));
  });
});
