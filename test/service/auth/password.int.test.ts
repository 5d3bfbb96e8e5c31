// Password rehash on log-in and the bound on concurrent hashes, against a real Postgres.
import { expect } from 'chai';
import pg from 'pg';
import { startStack, client, PNG, type Stack } from '../harness.js';
import { hashPassword } from '../../../service/auth/password.js';

describe('password hashing in the API (real Postgres)', function () {
  this.timeout(180000);
  let stack: Stack;
  let call: ReturnType<typeof client>;
  let db: pg.Client;

  before(async () => {
    stack = await startStack({ replica: false, storage: 'volume', extraEnv: { GRAMINSTA_HASH_CONCURRENCY: '2', GRAMINSTA_HASH_QUEUE: '6' } });
    call = client(stack.api.url);
    db = new pg.Client({ connectionString: stack.pg.superuserUrl().replace(/\/postgres$/, '/graminsta') });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    await stack?.stop();
  });

  const storedHash = async (username: string): Promise<string> => (await db.query('SELECT password_hash FROM users WHERE username = $1', [username])).rows[0].password_hash;

  it('logs in a user stored with the old cost, stores the new-format hash, and logs in again with it', async () => {
    expect((await call('POST', '/api/v1/users', { body: { username: 'oldhash', password: 'correct horse' } })).status).to.equal(201);
    const old = await hashPassword('correct horse', { N: 16384, r: 8, p: 1 });
    await db.query('UPDATE users SET password_hash = $1 WHERE username = $2', [old, 'oldhash']);

    const first = await call('POST', '/api/v1/sessions', { body: { username: 'oldhash', password: 'correct horse' } });
    expect(first.status, JSON.stringify(first.body)).to.equal(201);
    const now = await storedHash('oldhash');
    expect(now).to.not.equal(old);
    expect(now).to.match(/^scrypt\$32768\$8\$3\$/);

    expect((await call('POST', '/api/v1/sessions', { body: { username: 'oldhash', password: 'correct horse' } })).status).to.equal(201);
    expect((await call('POST', '/api/v1/sessions', { body: { username: 'oldhash', password: 'wrong horse' } })).status).to.equal(401);
    expect(await storedHash('oldhash')).to.equal(now);
  });

  it('keeps a wrong password from rehashing', async () => {
    expect((await call('POST', '/api/v1/users', { body: { username: 'oldhash2', password: 'correct horse' } })).status).to.equal(201);
    const old = await hashPassword('correct horse', { N: 16384, r: 8, p: 1 });
    await db.query('UPDATE users SET password_hash = $1 WHERE username = $2', [old, 'oldhash2']);
    expect((await call('POST', '/api/v1/sessions', { body: { username: 'oldhash2', password: 'wrong horse' } })).status).to.equal(401);
    expect(await storedHash('oldhash2')).to.equal(old);
  });

  it('runs at most GRAMINSTA_HASH_CONCURRENCY hashes at once, answers 503 server_busy past the queue, and keeps serving GETs', async () => {
    const signup = await call('POST', '/api/v1/users', { body: { username: 'flood', password: 'correct horse' } });
    const token = signup.body.token as string;
    const up = await call('POST', '/api/v1/uploads', { token, body: { contentType: 'image/png', size: PNG.length } });
    expect((await call('PUT', up.body.url, { token, raw: new Uint8Array(PNG), headers: up.body.headers })).status).to.equal(204);
    const photo = await call('POST', '/api/v1/photos', { token, body: { uploadId: up.body.uploadId } });
    const imagePath = new URL(photo.body.photo.imageUrl as string, stack.api.url).pathname;

    const logins = Array.from({ length: 20 }, () => call('POST', '/api/v1/sessions', { body: { username: 'flood', password: 'correct horse' } }));
    const gets: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const [profile, image] = await Promise.all([call('GET', '/api/v1/users/flood'), call('GET', imagePath)]);
      expect(profile.status).to.equal(200);
      expect(image.status).to.equal(200);
      gets.push(performance.now() - t);
    }
    const statuses = (await Promise.all(logins)).map((r) => (r.status === 503 ? `503 ${r.body.error.code}` : String(r.status)));
    const stats = stack.api.hashLimiter!.stats();
    console.log(`      GET latency during 20 logins (ms): ${gets.map((g) => g.toFixed(1)).join(', ')}; limiter ${JSON.stringify(stats)}`);
    expect(stats.maxInFlight).to.equal(2);
    expect(statuses).to.include('201');
    expect(statuses).to.include('503 server_busy');
    expect(statuses.every((s) => s === '201' || s === '503 server_busy'), statuses.join(',')).to.equal(true);
    const metrics = { body: await fetch(stack.api.metricsUrl + '/metrics').then((r) => r.text()) };
    expect(String(metrics.body)).to.match(/graminsta_password_hashes\{state="max_in_flight"\} 2/);
    expect(String(metrics.body)).to.match(/graminsta_password_hash_rejected_total [1-9]/);
  });
});
