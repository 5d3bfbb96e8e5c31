// The near cache across two API instances (each with its own Redis clients) on one real Redis and Postgres:
// a write on one instance is never served stale by the other for more than the stated bound (1 s). The TTL and the
// near cache's age are the defaults (30 s), far above the bound: only the invalidation can evict a copy in time.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import pg from 'pg';
import { startStack, client, type Stack } from '../harness.js';
import { loadConfig } from '../../../service/config.js';
import { createLogger } from '../../../service/log.js';
import { startApi, type RunningServer } from '../../../service/app/server.infra.js';
import { createRedis } from '../../../service/cache/redis.infra.js';
import { profileKey } from '../../../service/cache/profile-cache.repository.js';

const BOUND_MS = 1000;
const NEAR_MS = 30000;
const TTL_S = 30;
/** The shortened TTL of the Redis key in the TTL test. */
const SHORT_TTL_MS = 1500;

interface Sample {
  start: number;
  bio: string;
}

/** GETs carol's profile from `base` in a loop until `stop` resolves. */
async function poll(base: string, stop: Promise<void>): Promise<Sample[]> {
  const call = client(base);
  const samples: Sample[] = [];
  let done = false;
  void stop.then(() => (done = true));
  while (!done) {
    const start = Date.now();
    const r = await call('GET', '/api/v1/users/carol');
    expect(r.status).to.equal(200);
    samples.push({ start, bio: r.body.user.bio });
    await new Promise((res) => setTimeout(res, 5));
  }
  return samples;
}

/** Every sample that started at least BOUND_MS after `doneAt` (and before `until`) shows `bio`; returns how many there were. */
function freshAfter(samples: Sample[], doneAt: number, until: number, bio: string): number {
  const late = samples.filter((s) => s.start >= doneAt + BOUND_MS && s.start < until);
  const stale = late.filter((s) => s.bio !== bio);
  expect(stale, `served stale more than ${BOUND_MS} ms after the write: ${JSON.stringify(stale.slice(0, 3))}`).to.deep.equal([]);
  return late.length;
}

for (const redisMode of ['standalone', 'cluster'] as const) {
  describe(`near cache across two API instances (Redis ${redisMode})`, function () {
    this.timeout(180000);
    let stack: Stack;
    let b: RunningServer;
    let callA: ReturnType<typeof client>;
    let callB: ReturnType<typeof client>;
    let token: string;
    let id: number;
    const metric = async (server: RunningServer, re: RegExp) => {
      const m = await fetch(server.metricsUrl + '/metrics').then((r) => r.text());
      const match = re.exec(m);
      return match ? Number(match[1]) : 0;
    };
    const nearHits = (s: RunningServer) => metric(s, /graminsta_cache_near_requests_total\{result="hit"\} (\d+)/);

    before(async () => {
      // No replica: replica lag would add its own (documented) staleness; this suite measures the near cache's.
      const extraEnv = { GRAMINSTA_CACHE_TTL_SECONDS: String(TTL_S), GRAMINSTA_NEAR_CACHE_MS: String(NEAR_MS) };
      stack = await startStack({ replica: false, redis: redisMode, extraEnv, readYourWritesMs: 300 });
      b = await startApi(loadConfig(stack.env, 'api'), createLogger('error'), { readYourWritesMs: 300 });
      callA = client(stack.api.url);
      callB = client(b.url);
      const r = await callA('POST', '/api/v1/users', { body: { username: 'carol', password: 'password123' } });
      token = r.body.token;
      id = r.body.user.id;
      await new Promise((res) => setTimeout(res, 400)); // past carol's read-your-writes window on A
    });
    after(async () => {
      await b?.shutdown(2000).catch(() => undefined);
      await stack?.stop();
    });

    it('serves repeated reads from the near copy', async () => {
      await callB('GET', '/api/v1/users/carol');
      const hits0 = await nearHits(b);
      for (let i = 0; i < 5; i++) expect((await callB('GET', '/api/v1/users/carol')).status).to.equal(200);
      expect(await nearHits(b)).to.be.at.least(hits0 + 4);
    });

    it(`never serves a write made on the other instance stale for more than ${BOUND_MS} ms`, async () => {
      await callB('GET', '/api/v1/users/carol');
      let stop!: () => void;
      const stopped = new Promise<void>((res) => (stop = res));
      const polling = poll(b.url, stopped);
      const writes: { bio: string; startedAt: number; doneAt: number }[] = [];
      const hits0 = await nearHits(b);
      for (let i = 1; i <= 4; i++) {
        const bio = `${redisMode} bio ${i}`;
        const startedAt = Date.now();
        const w = await callA('PATCH', '/api/v1/me', { token, body: { bio } });
        writes.push({ bio, startedAt, doneAt: Date.now() });
        expect(w.body.user.bio).to.equal(bio);
        // read-your-writes on the writing instance: at once, through its cache
        expect((await callA('GET', '/api/v1/users/carol', { token })).body.user.bio).to.equal(bio);
        await new Promise((res) => setTimeout(res, BOUND_MS + 500));
      }
      stop();
      const samples = await polling;
      for (let i = 0; i < writes.length; i++) {
        // up to the start of the next write: from then on its value is as correct as this one
        const until = writes[i + 1]?.startedAt ?? Infinity;
        expect(freshAfter(samples, writes[i]!.doneAt, until, writes[i]!.bio), `samples checked after write ${i + 1}`).to.be.greaterThan(5);
      }
      // B did serve near copies in between, so the check above was about them
      expect(await nearHits(b)).to.be.greaterThan(hits0 + 20);
    });

    it(`does not keep a near copy past the Redis key's TTL`, async () => {
      const su = new pg.Client({ connectionString: stack.pg.superuserUrl().replace(/\/postgres$/, '/graminsta') });
      await su.connect();
      const redis = createRedis({ mode: redisMode, nodes: stack.redis!.nodes.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })), password: '' }, createLogger('error'));
      try {
        await stack.api.cache!.del(id);
        // The delete's invalidation reaches B asynchronously (within BOUND_MS); B rightly refuses to cache a
        // read that such a message overtakes, so the reads below must start after it has arrived.
        await new Promise((res) => setTimeout(res, BOUND_MS));
        if (redis.status !== 'ready') await new Promise((res) => redis.once('ready', res));
        const before = (await callA('GET', '/api/v1/users/carol')).body.user.bio as string;
        // The key A just stored now expires long before the ${TTL_S} s it was stored with; B's copy must follow it.
        await redis.pexpire(profileKey(id), SHORT_TTL_MS);
        const shortenedAt = Date.now();
        expect((await callB('GET', '/api/v1/users/carol')).body.user.bio).to.equal(before);
        // B's copy lives at most the key's remaining PTTL from when B had the reply, which is before this moment.
        const filledBy = Date.now();
        // A change behind the service's back: only expiry can bring it to readers.
        await su.query('UPDATE users SET bio = $1 WHERE id = $2', ['changed behind the cache', id]);
        expect((await callB('GET', '/api/v1/users/carol')).body.user.bio).to.equal(before);
        expect(Date.now() - shortenedAt, 'the cached reads came within the shortened TTL').to.be.below(SHORT_TTL_MS);
        await new Promise((res) => setTimeout(res, filledBy + SHORT_TTL_MS + 100 - Date.now()));
        expect((await callB('GET', '/api/v1/users/carol')).body.user.bio).to.equal('changed behind the cache');
      } finally {
        redis.disconnect();
        await su.end();
      }
    });

    if (redisMode === 'standalone') {
      it(`drops near copies when the subscription is cut, and still serves no write stale for more than ${BOUND_MS} ms`, async () => {
        const resets = () => metric(b, /graminsta_cache_near_resets_total\{reason="connection"\} (\d+)/);
        const resets0 = await resets();
        await callB('GET', '/api/v1/users/carol');
        let stop!: () => void;
        const stopped = new Promise<void>((res) => (stop = res));
        const polling = poll(b.url, stopped);
        const [host, port] = stack.redis!.nodes[0]!.split(':');
        await promisify(execFile)('redis-cli', ['-h', host!, '-p', port!, 'client', 'kill', 'type', 'pubsub']);
        const bio = 'written while subscriptions reconnect';
        await callA('PATCH', '/api/v1/me', { token, body: { bio } });
        const doneAt = Date.now();
        await new Promise((res) => setTimeout(res, BOUND_MS + 500));
        stop();
        expect(freshAfter(await polling, doneAt, Infinity, bio)).to.be.greaterThan(5);
        expect(await resets()).to.be.greaterThan(resets0);
      });
    }
  });
}
