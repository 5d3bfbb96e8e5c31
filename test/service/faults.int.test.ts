// Faults against real processes: Redis killed, replica stopped, primary stopped; plus cache TTL and invalidation.
import { expect } from 'chai';
import { startStack, client, type Stack } from './harness.js';

// The cache TTL is 5 s: short enough to watch a key expire, long enough that a stall of the 2-core CI machine
// between the read that fills the cache and the read that should hit it cannot expire the key in between.
const TTL_S = 5;

for (const redisMode of ['standalone', 'cluster'] as const) {
  describe(`faults and cache (Redis ${redisMode})`, function () {
    this.timeout(180000);
    let stack: Stack;
    let call: ReturnType<typeof client>;
    let token: string;
    let id: number;
    const metric = async (re: RegExp) => {
      const m = await fetch(stack.api.metricsUrl + '/metrics').then((r) => r.text());
      const match = re.exec(m);
      return match ? Number(match[1]) : 0;
    };

    before(async () => {
      stack = await startStack({ replica: true, redis: redisMode, extraEnv: { GRAMINSTA_CACHE_TTL_SECONDS: String(TTL_S), GRAMINSTA_DB_RETRY_SECONDS: '1' }, readYourWritesMs: 300 });
      call = client(stack.api.url);
      const r = await call('POST', '/api/v1/users', { body: { username: 'carol', password: 'password123' } });
      token = r.body.token;
      id = r.body.user.id;
      const fan = await call('POST', '/api/v1/users', { body: { username: 'dave', password: 'password123' } });
      await call('PUT', '/api/v1/users/carol/follow', { token: fan.body.token });
      await stack.pg.waitForReplication();
      await new Promise((r) => setTimeout(r, 400));
    });
    after(async () => stack?.stop());

    it('caches profiles under user:<id> with the TTL and invalidates on write', async () => {
      await stack.api.cache!.del(id);
      const hits0 = await metric(/graminsta_cache_requests_total\{result="hit"\} (\d+)/);
      expect((await call('GET', '/api/v1/users/carol')).body.user.followers).to.equal(1);
      expect((await call('GET', '/api/v1/users/carol')).status).to.equal(200);
      expect(await metric(/graminsta_cache_requests_total\{result="hit"\} (\d+)/)).to.equal(hits0 + 1);
      expect(await stack.api.cache!.get(id)).to.include({ username: 'carol' });
      await new Promise((r) => setTimeout(r, TTL_S * 1000 + 300));
      expect(await stack.api.cache!.get(id)).to.equal(null);
      await call('GET', '/api/v1/users/carol');
      expect(await stack.api.cache!.get(id)).to.include({ bio: '' });
      const patched = await call('PATCH', '/api/v1/me', { token, body: { bio: 'new bio' } });
      expect(patched.body.user.bio).to.equal('new bio');
      await stack.pg.waitForReplication();
      await new Promise((r) => setTimeout(r, 400));
      expect((await call('GET', '/api/v1/users/carol')).body.user.bio).to.equal('new bio');
    });

    it('does not stampede the database when a hot key expires', async () => {
      await stack.api.cache!.del(id);
      const reads0 = await metric(/graminsta_db_reads_total\{target="replica"\} (\d+)/);
      const res = await Promise.all(Array.from({ length: 50 }, () => call('GET', '/api/v1/users/carol')));
      expect(res.every((r) => r.status === 200)).to.equal(true);
      const reads = (await metric(/graminsta_db_reads_total\{target="replica"\} (\d+)/)) - reads0;
      expect(reads).to.be.at.most(2);
    });

    it('serves from Postgres with no 5xx when Redis is killed mid-test, and counts it', async () => {
      const before = await metric(/graminsta_cache_unavailable_total\{operation="get"\} (\d+)/);
      await stack.redis!.kill();
      // Near copies may be served until the invalidation channel's heartbeat window (1 s) has passed.
      await new Promise((r) => setTimeout(r, 1200));
      for (let i = 0; i < 20; i++) {
        const r = await call('GET', '/api/v1/users/carol');
        expect(r.status).to.equal(200);
        expect(r.body.user.username).to.equal('carol');
      }
      const w = await call('PATCH', '/api/v1/me', { token, body: { bio: 'while redis is down' } });
      expect(w.status).to.equal(200);
      expect(await metric(/graminsta_cache_unavailable_total\{operation="get"\} (\d+)/)).to.be.greaterThan(before);
      await stack.redis!.restart();
    });

    it('answers reads from the primary when the replica is stopped', async () => {
      await stack.pg.stopReplica();
      try {
        await stack.api.cache!.del(id);
        for (let i = 0; i < 5; i++) {
          expect((await call('GET', '/api/v1/users/carol')).status).to.equal(200);
          expect((await call('GET', '/api/v1/feed', { token })).status).to.equal(200);
          await stack.api.cache!.del(id);
        }
        expect(await metric(/graminsta_db_replica_fallbacks_total\{reason="unavailable"\} (\d+)/)).to.be.greaterThan(0);
      } finally {
        await stack.pg.startReplica();
      }
    });

    it('fails writes with 503 while the primary is down, keeps serving reads from the replica, and loses nothing acknowledged before', async () => {
      const acked: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await call('POST', '/api/v1/users', { body: { username: `acked_${redisMode.slice(0, 4)}_${i}`, password: 'password123' } });
        expect(r.status).to.equal(201);
        acked.push(r.body.user.username);
      }
      expect((await call('GET', '/readyz')).status).to.equal(200);
      await stack.pg.stopPrimary();
      try {
        // Still ready right after the primary went away (within GRAMINSTA_DB_RETRY_SECONDS, 1 s here): a restart
        // of the shared primary must not take every API pod out of its Service at once.
        expect((await call('GET', '/readyz')).status, 'ready within the retry bound').to.equal(200);
        const w = await call('PATCH', '/api/v1/me', { token, body: { bio: 'never stored' } });
        expect(w.status).to.equal(503);
        expect(w.body.error.code).to.equal('database_unavailable');
        expect(w.body.error.message).to.include('database is unavailable');
        const s = await call('POST', '/api/v1/users', { body: { username: 'during_outage', password: 'password123' } });
        expect(s.status).to.equal(503);
        // Past the retry bound: ready while the replica answers, and reads are served from it.
        expect((await call('GET', '/readyz')).status, 'ready while a replica serves reads').to.equal(200);
        await stack.api.cache!.del(id);
        const read = await call('GET', '/api/v1/users/carol');
        expect(read.status).to.equal(200);
        expect(read.body.user.username).to.equal('carol');
        await stack.pg.stopReplica();
        try {
          expect((await call('GET', '/readyz')).status, 'unready once no database answers').to.equal(503);
        } finally {
          await stack.pg.startReplica();
        }
      } finally {
        await stack.pg.startPrimary();
      }
      let ready = 0;
      for (let i = 0; i < 50 && ready !== 200; i++) {
        ready = (await call('GET', '/readyz')).status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready).to.equal(200);
      for (const u of acked) {
        const r = await call('POST', '/api/v1/sessions', { body: { username: u, password: 'password123' } });
        expect(r.status, u).to.equal(201);
      }
      expect((await call('POST', '/api/v1/sessions', { body: { username: 'during_outage', password: 'password123' } })).status).to.equal(401);
      expect((await call('GET', '/api/v1/me', { token })).body.user.bio).to.not.equal('never stored');
    });
  });
}
