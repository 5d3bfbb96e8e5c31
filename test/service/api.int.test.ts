// Every route's happy path and bad input against a real Postgres primary + replica, Redis and a volume.
import { expect } from 'chai';
import fs from 'node:fs/promises';
import http from 'node:http';
import pg from 'pg';
import { startStack, client, PNG, JPEG, type Stack } from './harness.js';
import { signToken } from '../../service/auth/token.js';

describe('photo service API (real Postgres + replica, Redis, volume storage)', function () {
  this.timeout(120000);
  let stack: Stack;
  let call: ReturnType<typeof client>;
  let alice: { token: string; id: number };
  let bob: { token: string; id: number };

  async function count(table: string): Promise<number> {
    const c = new pg.Client({ connectionString: stack.pg.superuserUrl().replace(/\/postgres$/, '/graminsta') });
    await c.connect();
    try {
      return Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    } finally {
      await c.end();
    }
  }

  async function upload(token: string, bytes: Buffer, contentType = 'image/png'): Promise<string> {
    const up = await call('POST', '/api/v1/uploads', { token, body: { contentType, size: bytes.length } });
    expect(up.status).to.equal(201);
    const put = await call('PUT', up.body.url, { token, raw: new Uint8Array(bytes), headers: up.body.headers });
    expect(put.status, JSON.stringify(put.body)).to.equal(204);
    return up.body.uploadId;
  }

  before(async () => {
    stack = await startStack({ replica: true, redis: 'standalone', storage: 'volume' });
    call = client(stack.api.url);
  });
  after(async () => stack?.stop());

  describe('happy paths', () => {
    it('signs up, logs in, reads and updates the profile, logs out', async () => {
      const a = await call('POST', '/api/v1/users', { body: { username: 'alice', password: 'correct horse', displayName: 'Alice' } });
      expect(a.status).to.equal(201);
      expect(a.body.user).to.include({ username: 'alice', displayName: 'Alice', bio: '', followers: 0, following: 0, photos: 0 });
      alice = { token: a.body.token, id: a.body.user.id };
      const b = await call('POST', '/api/v1/users', { body: { username: 'bob', password: 'battery staple' } });
      expect(b.status).to.equal(201);
      bob = { token: b.body.token, id: b.body.user.id };

      const login = await call('POST', '/api/v1/sessions', { body: { username: 'alice', password: 'correct horse' } });
      expect(login.status).to.equal(201);
      expect(login.body.user.id).to.equal(alice.id);
      const me = await call('GET', '/api/v1/me', { token: login.body.token });
      expect(me.status).to.equal(200);
      expect(me.body.user.username).to.equal('alice');

      const patched = await call('PATCH', '/api/v1/me', { token: alice.token, body: { bio: 'hello', displayName: 'Alice A.' } });
      expect(patched.status).to.equal(200);
      expect(patched.body.user).to.include({ bio: 'hello', displayName: 'Alice A.' });
      // read-your-writes: the very next read by alice sees it
      const after = await call('GET', '/api/v1/users/alice', { token: alice.token });
      expect(after.body.user).to.include({ bio: 'hello', displayName: 'Alice A.', followedByMe: false });

      const out = await call('DELETE', '/api/v1/sessions/current', { token: login.body.token });
      expect(out.status).to.equal(204);
      const revoked = await call('GET', '/api/v1/me', { token: login.body.token });
      expect(revoked.status).to.equal(401);
      expect(revoked.body.error.code).to.equal('token_revoked');
    });

    it('follows and unfollows', async () => {
      expect((await call('PUT', '/api/v1/users/alice/follow', { token: bob.token })).status).to.equal(204);
      const seen = await call('GET', '/api/v1/users/alice', { token: bob.token });
      expect(seen.body.user).to.include({ followers: 1, followedByMe: true });
      expect((await call('DELETE', '/api/v1/users/alice/follow', { token: bob.token })).status).to.equal(204);
      const again = await call('GET', '/api/v1/users/alice', { token: bob.token });
      expect(again.body.user).to.include({ followers: 0, followedByMe: false });
      expect((await call('PUT', '/api/v1/users/alice/follow', { token: bob.token })).status).to.equal(204);
    });

    it('answers a profile with an ETag, 304 while it is unchanged, and the new profile with a new ETag after a write', async () => {
      // node:http, not fetch: fetch adds Cache-Control: no-cache to a request carrying If-None-Match.
      const get = (headers: Record<string, string> = {}) =>
        new Promise<{ status: number; etag: string | undefined; body: string }>((resolve, reject) => {
          http
            .get(`${stack.api.url}/api/v1/users/alice`, { headers }, (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString('utf8')));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body }));
            })
            .on('error', reject);
        });
      const first = await get();
      expect(first.status).to.equal(200);
      expect(first.etag).to.match(/^"[A-Za-z0-9_-]{27}"$/);
      expect((await get()).etag, 'the same bytes, the same ETag').to.equal(first.etag);
      const unchanged = await get({ 'if-none-match': first.etag! });
      expect(unchanged.status).to.equal(304);
      expect(unchanged.body).to.equal('');
      expect((await call('PATCH', '/api/v1/me', { token: alice.token, body: { bio: 'etag test' } })).status).to.equal(200);
      const changed = await get({ 'if-none-match': first.etag! });
      expect(changed.status).to.equal(200);
      expect(changed.etag).to.not.equal(first.etag);
      expect(JSON.parse(changed.body).user.bio).to.equal('etag test');
    });

    it('uploads through the API, creates, lists, gets, likes and deletes photos; the feed shows followed users', async () => {
      const uploadId = await upload(alice.token, PNG);
      const created = await call('POST', '/api/v1/photos', { token: alice.token, body: { uploadId, caption: 'first' } });
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const photo = created.body.photo;
      expect(photo).to.include({ caption: 'first', width: 1, height: 1, likes: 0, likedByMe: false });
      expect(photo.imageUrl).to.match(/\/images\/photos\/[A-Za-z0-9_-]{22}\.png$/);
      const img = await fetch(stack.api.url + photo.imageUrl);
      expect(img.status).to.equal(200);
      expect(img.headers.get('content-type')).to.equal('image/png');
      expect(img.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(Buffer.from(await img.arrayBuffer()).equals(PNG)).to.equal(true);

      const second = await call('POST', '/api/v1/photos', { token: alice.token, body: { uploadId: await upload(alice.token, JPEG, 'image/jpeg') } });
      expect(second.status).to.equal(201);
      expect(second.body.photo).to.include({ width: 3, height: 2 });

      expect((await call('PUT', `/api/v1/photos/${photo.id}/like`, { token: bob.token })).status).to.equal(204);
      const liked = await call('GET', `/api/v1/photos/${photo.id}`, { token: bob.token });
      expect(liked.body.photo).to.include({ likes: 1, likedByMe: true });
      expect((await call('DELETE', `/api/v1/photos/${photo.id}/like`, { token: bob.token })).status).to.equal(204);
      expect((await call('GET', `/api/v1/photos/${photo.id}`, { token: bob.token })).body.photo.likes).to.equal(0);

      // The anonymous reads below go to the replica: it must have replayed alice's photos first.
      await stack.pg.waitForReplication();
      const page1 = await call('GET', '/api/v1/users/alice/photos?limit=1');
      expect(page1.status).to.equal(200);
      expect(page1.body.items.map((p: { id: number }) => p.id)).to.deep.equal([second.body.photo.id]);
      expect(page1.body.nextCursor).to.be.a('string');
      const page2 = await call('GET', `/api/v1/users/alice/photos?limit=1&cursor=${page1.body.nextCursor}`);
      expect(page2.body.items.map((p: { id: number }) => p.id)).to.deep.equal([photo.id]);
      expect(page2.body.nextCursor).to.equal(null);

      const feed = await call('GET', '/api/v1/feed', { token: bob.token });
      expect(feed.status).to.equal(200);
      expect(feed.body.items.map((p: { id: number }) => p.id)).to.deep.equal([second.body.photo.id, photo.id]);
      expect((await call('GET', '/api/v1/users/alice', {})).body.user.photos).to.equal(2);

      expect((await call('DELETE', `/api/v1/photos/${second.body.photo.id}`, { token: alice.token })).status).to.equal(204);
      expect((await call('GET', `/api/v1/photos/${second.body.photo.id}`, { token: alice.token })).status).to.equal(404);
    });

    it('serves /metrics on the metrics port only: the public port answers 404, the metrics port nothing else', async () => {
      expect(stack.api.metricsUrl).to.not.equal(stack.api.url);
      const pub = await call('GET', '/metrics');
      expect(pub.status).to.equal(404);
      expect(pub.body.error.code).to.equal('not_found');
      expect(String(pub.body.error.message)).to.not.match(/graminsta_|http_request/);
      const m = await fetch(stack.api.metricsUrl + '/metrics');
      expect(m.status).to.equal(200);
      expect(m.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
      expect(await m.text()).to.match(/^http_request_duration_seconds_count\{/m);
      for (const p of ['/healthz', '/api/v1/users/alice', '/metrics/x']) expect((await fetch(stack.api.metricsUrl + p)).status, p).to.equal(404);
    });

    it('serves probes, metrics and the OpenAPI document', async () => {
      expect((await call('GET', '/healthz')).status).to.equal(200);
      expect((await call('GET', '/readyz')).status).to.equal(200);
      const m = await fetch(stack.api.metricsUrl + '/metrics').then((r) => r.text());
      expect(m).to.include('http_request_duration_seconds_bucket');
      // Requests are labelled with the router's template, never the raw path.
      expect(m).to.match(/http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/users\/:username",status="200"\}/);
      expect(m).to.match(/http_request_duration_seconds_count\{method="GET",route="\/images\/\*key",status="200"\}/);
      expect(m).to.match(/http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\}/);
      expect(m).to.not.match(/route="\/api\/v1\/users\/alice"/);
      expect(m).to.match(/graminsta_cache_requests_total\{result="(hit|miss)"\}/);
      expect(m).to.include('graminsta_db_pool_connections{pool="primary",state="total"}');
      expect((await call('GET', '/openapi.json')).body.openapi).to.equal('3.1.0');
    });
  });

  describe('bad input gets a 4xx naming the problem and stores nothing', () => {
    it('rejects bad sign-ups, malformed JSON and SQL metacharacters in usernames', async () => {
      const users = await count('users');
      const cases: [unknown, string][] = [
        [{ username: "a'; DROP TABLE users; --", password: 'long enough' }, 'username'],
        [{ username: 'ok_name', password: 'short' }, 'password'],
        [{ username: 'ok_name', password: 'long enough', displayName: '' }, 'displayName'],
        [{ username: 'ok_name', password: 'long enough', admin: true }, 'admin'],
        [{ username: 'ok_name', password: 'long enough', displayName: 'x\u0000y' }, 'displayName'],
        [[1, 2], 'body'],
      ];
      for (const [body, field] of cases) {
        const r = await call('POST', '/api/v1/users', { body });
        expect(r.status, JSON.stringify(body)).to.equal(400);
        expect(r.body.error.field).to.equal(field);
        expect(r.body.error.message).to.include(field);
        expect(r.body.error.requestId).to.be.a('string');
      }
      const bad = await call('POST', '/api/v1/users', { body: '{"username": "x",' });
      expect(bad.status).to.equal(400);
      expect(bad.body.error.code).to.equal('malformed_json');
      const dup = await call('POST', '/api/v1/users', { body: { username: 'alice', password: 'whatever123' } });
      expect(dup.status).to.equal(409);
      expect(dup.body.error.code).to.equal('username_taken');
      expect(await count('users')).to.equal(users);
    });

    it('stores SQL metacharacters in free-text fields literally and keeps the tables intact', async () => {
      const evil = "Robert'); DROP TABLE photos; -- \\ % _ \"";
      const r = await call('PATCH', '/api/v1/me', { token: bob.token, body: { displayName: evil.slice(0, 50), bio: evil } });
      expect(r.status).to.equal(200);
      expect(r.body.user.bio).to.equal(evil);
      const id = await upload(bob.token, PNG);
      const p = await call('POST', '/api/v1/photos', { token: bob.token, body: { uploadId: id, caption: evil } });
      expect(p.body.photo.caption).to.equal(evil);
      expect(await count('photos')).to.be.greaterThan(0);
      for (const path of [`/api/v1/users/${encodeURIComponent("bob' OR '1'='1")}`, `/api/v1/photos/${encodeURIComponent('1 OR 1=1')}`, `/api/v1/users/bob/photos?cursor=${encodeURIComponent("' OR 1=1")}`, '/api/v1/users/bob/photos?limit=1;DROP']) {
        const res = await call('GET', path);
        expect(res.status, path).to.equal(400);
        expect(res.body.error.code).to.equal('validation_failed');
      }
    });

    it('refuses missing, malformed, forged and expired tokens', async () => {
      expect((await call('GET', '/api/v1/me')).body.error.code).to.equal('missing_token');
      expect((await call('GET', '/api/v1/me', { token: 'garbage' })).body.error.code).to.equal('invalid_token');
      const [sid, uid, exp] = alice.token.split('.');
      const forged = signToken('not-the-secret-at-all', { sessionId: sid!, userId: Number(uid), expiresAt: Number(exp) });
      expect((await call('GET', '/api/v1/me', { token: forged })).status).to.equal(401);
      const otherUser = `${sid}.${bob.id}.${exp}.${alice.token.split('.')[3]}`;
      expect((await call('GET', '/api/v1/me', { token: otherUser })).body.error.code).to.equal('invalid_token');
      const expired = signToken(stack.env.GRAMINSTA_TOKEN_SECRET!, { sessionId: sid!, userId: Number(uid), expiresAt: Math.floor(Date.now() / 1000) - 10 });
      const r = await call('GET', '/api/v1/me', { token: expired });
      expect(r.status).to.equal(401);
      expect(r.body.error.code).to.equal('token_expired');
      const wrongPw = await call('POST', '/api/v1/sessions', { body: { username: 'alice', password: 'wrong password' } });
      expect(wrongPw.status).to.equal(401);
      expect(wrongPw.body.error.code).to.equal('invalid_credentials');
    });

    it('refuses oversized uploads, non-images named .jpg, and mismatched types; nothing is stored', async () => {
      const photos = await count('photos');
      const tooBig = await call('POST', '/api/v1/uploads', { token: alice.token, body: { contentType: 'image/jpeg', size: 64 * 1024 + 1 } });
      expect(tooBig.status).to.equal(400);
      expect(tooBig.body.error.field).to.equal('size');
      const badType = await call('POST', '/api/v1/uploads', { token: alice.token, body: { contentType: 'text/html', size: 10 } });
      expect(badType.status).to.equal(415);

      const up = await call('POST', '/api/v1/uploads', { token: alice.token, body: { contentType: 'image/jpeg', size: 100 } });
      const more = await call('PUT', up.body.url, { token: alice.token, raw: new Uint8Array(Buffer.alloc(200, 0xff)) });
      expect(more.status).to.equal(413);
      const text = Buffer.from('#!/bin/sh\necho this is not a jpeg\n');
      const notImage = await call('PUT', up.body.url, { token: alice.token, raw: new Uint8Array(text), headers: { 'content-type': 'image/jpeg' } });
      expect(notImage.status).to.equal(415);
      expect(notImage.body.error.code).to.equal('not_an_image');
      const mismatch = await call('PUT', up.body.url, { token: alice.token, raw: new Uint8Array(PNG) });
      expect(mismatch.status).to.equal(415);
      expect(mismatch.body.error.message).to.include('image/png');
      const create = await call('POST', '/api/v1/photos', { token: alice.token, body: { uploadId: up.body.uploadId } });
      expect(create.status).to.equal(409);
      expect(create.body.error.code).to.equal('upload_incomplete');
      const files = await fs.readdir(stack.volume + '/photos').catch(() => [] as string[]);
      expect(files.some((f) => f.startsWith(up.body.uploadId))).to.equal(false);
      expect(await count('photos')).to.equal(photos);
    });

    it('refuses path traversal in image keys', async () => {
      for (const p of ['/images/..%2F..%2F..%2Fetc%2Fpasswd', '/images/photos%2F..%2F..%2Fpg', '/images/%2Fetc%2Fpasswd', '/images/photos/AAAAAAAAAAAAAAAAAAAAAA.png%00.jpg', '/images/%E0%A4%A']) {
        const r = await call('GET', p);
        expect(r.status, p).to.equal(400);
        expect(r.body.error.code).to.equal('invalid_object_key');
      }
      const r = await call('PUT', '/api/v1/uploads/..%2F..%2Fx/content', { token: alice.token, raw: new Uint8Array(PNG) });
      expect(r.status).to.equal(400);
      expect(r.body.error.field).to.equal('uploadId');
    });

    it('refuses acting on another user\'s photo and uploads', async () => {
      const id = await upload(alice.token, PNG);
      const steal = await call('POST', '/api/v1/photos', { token: bob.token, body: { uploadId: id } });
      expect(steal.status).to.equal(404);
      expect(steal.body.error.code).to.equal('upload_not_found');
      const mine = await call('POST', '/api/v1/photos', { token: alice.token, body: { uploadId: id } });
      expect(mine.status).to.equal(201);
      const del = await call('DELETE', `/api/v1/photos/${mine.body.photo.id}`, { token: bob.token });
      expect(del.status).to.equal(403);
      expect(del.body.error.code).to.equal('forbidden');
      expect((await call('GET', `/api/v1/photos/${mine.body.photo.id}`)).status).to.equal(200);
      const again = await call('POST', '/api/v1/photos', { token: alice.token, body: { uploadId: id } });
      expect(again.status).to.equal(409);
      expect((await call('PUT', '/api/v1/users/alice/follow', { token: alice.token })).body.error.code).to.equal('cannot_follow_self');
    });
  });

  describe('replica routing', () => {
    it('sends profile and feed reads to the replica, not the primary, while it is up', async () => {
      await new Promise((r) => setTimeout(r, 2100)); // let the read-your-writes windows of the tests above pass
      const su = new pg.Client({ connectionString: stack.pg.superuserUrl().replace(/\/postgres$/, '/graminsta') });
      await su.connect();
      await su.query('SELECT pg_stat_statements_reset()');
      await stack.api.cache!.del(alice.id);
      for (let i = 0; i < 5; i++) {
        expect((await call('GET', '/api/v1/users/alice')).status).to.equal(200);
        await stack.api.cache!.del(alice.id);
        expect((await call('GET', '/api/v1/users/alice', { token: bob.token })).status).to.equal(200);
        expect((await call('GET', '/api/v1/feed', { token: bob.token })).status).to.equal(200);
      }
      const { rows } = await su.query<{ query: string; calls: string }>(
        `SELECT query, calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'graminsta' AND (query LIKE '%profile.read%' OR query LIKE '%feed.read%' OR query LIKE '%FROM follows%' OR query LIKE '%FROM users u%')`,
      );
      await su.end();
      expect(rows, JSON.stringify(rows)).to.deep.equal([]);
      // the same filter does see these reads on the replica, so the check above can fail
      const ro = new pg.Client({ connectionString: stack.pg.superuserUrl(stack.pg.replica!).replace(/\/postgres$/, '/graminsta') });
      await ro.connect();
      const seen = await ro.query(`SELECT query FROM pg_stat_statements WHERE query LIKE '%profile.read%' OR query LIKE '%feed.read%'`);
      await ro.end();
      expect(seen.rows.length).to.be.greaterThan(0);
      const m = await fetch(stack.api.metricsUrl + '/metrics').then((r) => r.text());
      expect(m).to.match(/graminsta_db_reads_total\{target="replica"\} [1-9]/);
    });

    it('serves a photo and a profile created a moment ago to anyone while the replica has not replayed them yet', async () => {
      const ro = new pg.Client({ connectionString: stack.pg.superuserUrl(stack.pg.replica!).replace(/\/postgres$/, '/graminsta') });
      await ro.connect();
      await ro.query('SELECT pg_wal_replay_pause()');
      try {
        const created = await call('POST', '/api/v1/photos', { token: alice.token, body: { uploadId: await upload(alice.token, PNG) } });
        expect(created.status).to.equal(201);
        const id = created.body.photo.id as number;
        // the replica does not have it: a read there alone would answer 404
        const onReplica = await ro.query('SELECT 1 FROM photos WHERE id = $1', [id]);
        expect(onReplica.rowCount).to.equal(0);
        const anon = await call('GET', `/api/v1/photos/${id}`);
        expect(anon.status, JSON.stringify(anon.body)).to.equal(200);
        expect((await call('GET', `/api/v1/photos/${id}`, { token: bob.token })).status).to.equal(200);
        expect((await call('GET', '/api/v1/photos/987654321')).status).to.equal(404);
        // and a profile signed up a moment ago
        const carol = await call('POST', '/api/v1/users', { body: { username: 'carol', password: 'carol password' } });
        expect(carol.status).to.equal(201);
        const profile = await call('GET', '/api/v1/users/carol');
        expect(profile.status, JSON.stringify(profile.body)).to.equal(200);
        expect(profile.body.user.username).to.equal('carol');
        expect((await call('GET', '/api/v1/users/carol/photos')).status).to.equal(200);
        expect((await call('GET', '/api/v1/users/nobodyhere')).status).to.equal(404);
      } finally {
        await ro.query('SELECT pg_wal_replay_resume()');
        await ro.end();
      }
    });
  });
});
