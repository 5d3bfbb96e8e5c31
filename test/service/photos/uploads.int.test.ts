// Open-upload cap, expiry, the sweeper (files and rows; expired sessions) and "serve only photos", against a real
// Postgres with volume storage and with an S3-compatible server (s3rver).
import { expect } from 'chai';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startStack, client, PNG, type Stack } from '../harness.js';
import { s3Storage } from '../../../service/storage/s3.storage.js';
import { Database } from '../../../service/db/database.js';
import { createMetrics } from '../../../service/metrics.js';
import { createLogger } from '../../../service/log.js';
import { createSweeper } from '../../../service/sweep/sweeper.service.js';
import { loadConfig } from '../../../service/config.js';
import { objectSize } from '../../../service/storage/storage.js';

for (const kind of ['volume', 's3'] as const) {
  describe(`upload slots and the sweeper (real Postgres, ${kind} storage)`, function () {
    this.timeout(180000);
    let stack: Stack;
    let call: ReturnType<typeof client>;
    let db: pg.Client;
    let token: string;

    before(async () => {
      stack = await startStack({ replica: false, storage: kind, extraEnv: { GRAMINSTA_MAX_OPEN_UPLOADS: '3', GRAMINSTA_UPLOAD_TTL_SECONDS: '3600' } });
      call = client(stack.api.url);
      db = new pg.Client({ connectionString: stack.pg.superuserUrl().replace(/\/postgres$/, '/graminsta') });
      await db.connect();
      token = (await call('POST', '/api/v1/users', { body: { username: `up${kind}`, password: 'correct horse' } })).body.token;
    });
    after(async () => {
      await db?.end();
      await stack?.stop();
    });

    /** Whether the object `key` exists in the stack's store. */
    async function stored(key: string): Promise<boolean> {
      if (kind === 'volume') return fs.stat(path.join(stack.volume, key)).then(() => true, () => false);
      const s3 = s3Storage({ bucket: stack.s3!.bucket, region: 'us-east-1', endpoint: stack.s3!.endpoint, forcePathStyle: true, credentials: { accessKeyId: stack.s3!.accessKeyId, secretAccessKey: stack.s3!.secretAccessKey } });
      return (await objectSize(s3, key)) !== null;
    }

    async function openUpload(): Promise<{ uploadId: string; key: string }> {
      const up = await call('POST', '/api/v1/uploads', { token, body: { contentType: 'image/png', size: PNG.length } });
      expect(up.status, JSON.stringify(up.body)).to.equal(201);
      const put = await fetch(new URL(up.body.url, stack.api.url), { method: 'PUT', headers: { ...up.body.headers, ...(kind === 'volume' ? { authorization: `Bearer ${token}` } : {}) }, body: new Uint8Array(PNG) });
      expect(put.status).to.be.oneOf([200, 204]);
      const key = (await db.query('SELECT object_key FROM uploads WHERE id = $1', [up.body.uploadId])).rows[0].object_key as string;
      return { uploadId: up.body.uploadId, key };
    }

    it('serves an uploaded file only once a photo references it', async () => {
      const { uploadId, key } = await openUpload();
      expect(await stored(key)).to.equal(true);
      const pending = await call('GET', `/images/${key}`);
      expect(pending.status).to.equal(404);
      expect(pending.headers.get('location')).to.equal(null);
      expect(key).to.match(/^uploads\//);
      const photo = await call('POST', '/api/v1/photos', { token, body: { uploadId } });
      expect(photo.status).to.equal(201);
      // The object moved out of the pending prefix into photos/ (a CDN in front of the bucket or origin can be limited to photos/).
      const photoKey = key.replace(/^uploads\//, 'photos/');
      expect(await stored(key)).to.equal(false);
      expect(await stored(photoKey)).to.equal(true);
      expect(new URL(photo.body.photo.imageUrl as string, stack.api.url).pathname).to.equal(`/images/${photoKey}`);
      expect((await call('GET', `/images/${key}`)).status).to.equal(404);
      const served = await call('GET', `/images/${photoKey}`);
      expect(served.status).to.equal(kind === 's3' ? 302 : 200);
    });

    it('caps the open uploads of one account at GRAMINSTA_MAX_OPEN_UPLOADS with 429 too_many_open_uploads', async () => {
      await db.query('DELETE FROM uploads WHERE consumed_at IS NULL');
      for (let i = 0; i < 3; i++) await openUpload();
      const fourth = await call('POST', '/api/v1/uploads', { token, body: { contentType: 'image/png', size: PNG.length } });
      expect(fourth.status).to.equal(429);
      expect(fourth.body.error.code).to.equal('too_many_open_uploads');
      // Expired slots no longer count.
      await db.query("UPDATE uploads SET created_at = now() - interval '2 hours' WHERE consumed_at IS NULL");
      expect((await call('POST', '/api/v1/uploads', { token, body: { contentType: 'image/png', size: PNG.length } })).status).to.equal(201);
    });

    it('refuses an expired upload (410 upload_expired); the sweeper deletes its file and row, keeps photos and open uploads, and removes expired sessions', async () => {
      await db.query('DELETE FROM uploads WHERE consumed_at IS NULL');
      const expired = await openUpload();
      const fresh = await openUpload();
      await db.query("UPDATE uploads SET created_at = now() - interval '2 hours' WHERE id = $1", [expired.uploadId]);
      const refused = await call('POST', '/api/v1/photos', { token, body: { uploadId: expired.uploadId } });
      expect(refused.status).to.equal(410);
      expect(refused.body.error.code).to.equal('upload_expired');
      const photoKeys = (await db.query('SELECT object_key FROM photos')).rows.map((r) => r.object_key as string);
      expect(photoKeys).to.have.length.greaterThan(0);
      // A photo's upload row is consumed: old as it is, the sweeper must leave it and its file alone.
      await db.query("UPDATE uploads SET created_at = now() - interval '2 hours' WHERE consumed_at IS NOT NULL");

      const login = await call('POST', '/api/v1/sessions', { body: { username: `up${kind}`, password: 'correct horse' } });
      const sessionsBefore = Number((await db.query('SELECT count(*) AS n FROM sessions')).rows[0].n);
      await db.query("UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id = (SELECT id FROM sessions ORDER BY created_at DESC LIMIT 1)");

      const result = await stack.api.sweeper!.sweep();
      expect(result).to.deep.equal({ uploads: 1, sessions: 1, failed: 0 });
      expect(await stored(expired.key)).to.equal(false);
      expect((await db.query('SELECT 1 FROM uploads WHERE id = $1', [expired.uploadId])).rows).to.have.length(0);
      expect(await stored(fresh.key)).to.equal(true);
      for (const k of photoKeys) expect(await stored(k), k).to.equal(true);
      expect(Number((await db.query('SELECT count(*) AS n FROM sessions')).rows[0].n)).to.equal(sessionsBefore - 1);
      expect((await call('GET', '/api/v1/me', { token: login.body.token })).status).to.equal(401);
      expect((await call('GET', '/api/v1/me', { token })).status).to.equal(200);
      expect(await stack.api.sweeper!.sweep()).to.deep.equal({ uploads: 0, sessions: 0, failed: 0 });
    });

    it('lets two pods sweep at once without deleting a slot twice (FOR UPDATE SKIP LOCKED)', async () => {
      await db.query('DELETE FROM uploads WHERE consumed_at IS NULL');
      const ups = [];
      for (let i = 0; i < 3; i++) ups.push(await openUpload());
      await db.query("UPDATE uploads SET created_at = now() - interval '2 hours' WHERE consumed_at IS NULL");
      const cfg = loadConfig(stack.env, 'api');
      const log = createLogger('error');
      const other = new Database(cfg.db, createMetrics(), log);
      try {
        const storage = kind === 's3' ? s3Storage({ ...cfg.storage.s3, credentials: { accessKeyId: stack.s3!.accessKeyId, secretAccessKey: stack.s3!.secretAccessKey } }) : (await import('../../../service/storage/volume.storage.js')).volumeStorage(stack.volume);
        const second = createSweeper({ db: other, storage, log, uploadTtlSeconds: 3600, intervalMs: 60000, batch: 1 });
        const [a, b] = await Promise.all([stack.api.sweeper!.sweep(), second.sweep()]);
        expect(a.uploads + b.uploads).to.equal(3);
        expect(a.failed + b.failed).to.equal(0);
        for (const u of ups) expect(await stored(u.key)).to.equal(false);
      } finally {
        await other.close();
      }
    });
  });
}
