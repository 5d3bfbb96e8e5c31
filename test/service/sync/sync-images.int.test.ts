// sync-images as a real process against real Postgres, s3rver, volume directories and an origin-mode server:
// volume → origin → s3 → volume, a second run copies nothing, a lost image exits 1 naming it, bad settings exit 2.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startPostgres, type PgCluster } from '../../support/postgres.js';
import { startS3, type S3Server } from '../../support/s3.js';
import { PNG, JPEG } from '../harness.js';
import { loadConfig } from '../../../service/config.js';
import { createLogger } from '../../../service/log.js';
import { runMigrate, startOrigin, type RunningServer } from '../../../service/app/server.infra.js';
import { s3Storage } from '../../../service/storage/s3.storage.js';
import { volumeStorage } from '../../../service/storage/volume.storage.js';
import { originStorage } from '../../../service/storage/origin.storage.js';
import { objectSize, type ObjectStorage } from '../../../service/storage/storage.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const IMAGES: Record<string, Buffer> = {
  'photos/AAAAAAAAAAAAAAAAAAAAA1.png': PNG,
  'photos/AAAAAAAAAAAAAAAAAAAAA2.jpg': JPEG,
  'photos/AAAAAAAAAAAAAAAAAAAAA3.png': Buffer.concat([PNG, Buffer.alloc(5000, 7)]),
};
const LOST = 'photos/LLLLLLLLLLLLLLLLLLLLL1.png';

interface Run {
  code: number | null;
  summary: Record<string, unknown> | undefined;
  output: string;
}

describe('sync-images mode (real Postgres, s3rver, volumes, origin)', function () {
  this.timeout(180000);
  let pgc: PgCluster;
  let s3: S3Server;
  let origin: RunningServer;
  let tmp: string;
  let db: pg.Client;
  const dir = (name: string) => path.join(tmp, name);
  let base: Record<string, string>;

  const run = (env: Record<string, string>): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'service', 'main.ts'), 'sync-images'], { cwd: repoRoot, env: { PATH: process.env.PATH, ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('exit', (code) => {
        const lines = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
        resolve({ code, summary: lines.find((l) => 'listed' in l), output });
      });
    });
  const s3Target = { GRAMINSTA_STORAGE: 's3', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
  const s3Env = () => ({ GRAMINSTA_S3_BUCKET: s3.bucket, GRAMINSTA_S3_ENDPOINT: s3.endpoint, GRAMINSTA_S3_FORCE_PATH_STYLE: 'true' });
  const s3Source = () => ({
    GRAMINSTA_SYNC_FROM_STORAGE: 's3',
    GRAMINSTA_SYNC_FROM_S3_BUCKET: s3.bucket,
    GRAMINSTA_SYNC_FROM_S3_ENDPOINT: s3.endpoint,
    GRAMINSTA_SYNC_FROM_S3_FORCE_PATH_STYLE: 'true',
    GRAMINSTA_SYNC_FROM_AWS_ACCESS_KEY_ID: 'S3RVER',
    GRAMINSTA_SYNC_FROM_AWS_SECRET_ACCESS_KEY: 'S3RVER',
  });
  const expectHolds = async (store: ObjectStorage) => {
    for (const [key, body] of Object.entries(IMAGES)) expect(await objectSize(store, key), key).to.equal(body.length);
  };

  before(async () => {
    pgc = await startPostgres({ replica: false });
    s3 = await startS3();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-sync-'));
    for (const d of ['a', 'b', 'origin']) await fs.mkdir(dir(d));
    base = { GRAMINSTA_DB_HOST: pgc.primary.host, GRAMINSTA_DB_PORT: String(pgc.primary.port), GRAMINSTA_DB_PASSWORD: pgc.password, LOG_LEVEL: 'info' };
    await runMigrate(loadConfig(base, 'migrate'), createLogger('error'));
    origin = await startOrigin(loadConfig({ PORT: '0', GRAMINSTA_METRICS_PORT: '0', GRAMINSTA_ORIGIN_TOKEN: 'origin-secret', GRAMINSTA_VOLUME_PATH: dir('origin'), GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '0', LOG_LEVEL: 'error' }, 'origin'), createLogger('error'));
    db = new pg.Client({ host: pgc.primary.host, port: pgc.primary.port, database: pgc.database, user: pgc.user, password: pgc.password });
    await db.connect();
    const { rows } = await db.query<{ id: string }>(`INSERT INTO users (username, password_hash, display_name) VALUES ('syncer', 'x', 'Syncer') RETURNING id`);
    for (const [key, body] of Object.entries(IMAGES)) {
      await db.query('INSERT INTO photos (user_id, object_key, content_type, size_bytes) VALUES ($1, $2, $3, $4)', [rows[0]!.id, key, key.endsWith('.png') ? 'image/png' : 'image/jpeg', body.length]);
      await volumeStorage(dir('a')).put(key, body, 'image/png');
    }
  });
  after(async () => {
    await db?.end();
    await origin?.shutdown(1000);
    await s3?.stop();
    await pgc?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('copies volume → origin', async () => {
    const r = await run({ GRAMINSTA_SYNC_FROM_STORAGE: 'volume', GRAMINSTA_SYNC_FROM_VOLUME_PATH: dir('a'), GRAMINSTA_STORAGE: 'origin', GRAMINSTA_ORIGIN_URL: origin.url, GRAMINSTA_ORIGIN_TOKEN: 'origin-secret' });
    expect(r.code, r.output).to.equal(0);
    expect(r.summary).to.include({ msg: 'images synced', listed: 3, copied: 3, alreadyThere: 0, missing: 0 });
    await expectHolds(originStorage(origin.url, ''));
  });

  it('copies origin → s3 (reading the origin needs no token)', async () => {
    const r = await run({ GRAMINSTA_SYNC_FROM_STORAGE: 'origin', GRAMINSTA_SYNC_FROM_ORIGIN_URL: origin.url, ...s3Target, ...s3Env() });
    expect(r.code, r.output).to.equal(0);
    expect(r.summary).to.include({ listed: 3, copied: 3, alreadyThere: 0, missing: 0 });
    await expectHolds(s3Storage({ bucket: s3.bucket, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }));
  });

  it('copies s3 → volume byte for byte, and a second run copies nothing', async () => {
    const env = { ...s3Source(), GRAMINSTA_STORAGE: 'volume', GRAMINSTA_VOLUME_PATH: dir('b') };
    const first = await run(env);
    expect(first.code, first.output).to.equal(0);
    expect(first.summary).to.include({ listed: 3, copied: 3, alreadyThere: 0, missing: 0 });
    for (const [key, body] of Object.entries(IMAGES)) expect((await fs.readFile(path.join(dir('b'), key))).equals(body), key).to.equal(true);
    const second = await run(env);
    expect(second.code, second.output).to.equal(0);
    expect(second.summary).to.include({ listed: 3, copied: 0, alreadyThere: 3, missing: 0 });
  });

  it('recopies an image the target holds with another size', async () => {
    const key = Object.keys(IMAGES)[2]!;
    await fs.writeFile(path.join(dir('b'), key), PNG);
    const r = await run({ GRAMINSTA_SYNC_FROM_STORAGE: 'volume', GRAMINSTA_SYNC_FROM_VOLUME_PATH: dir('a'), GRAMINSTA_VOLUME_PATH: dir('b') });
    expect(r.code, r.output).to.equal(0);
    expect(r.summary).to.include({ listed: 3, copied: 1, alreadyThere: 2, missing: 0 });
    expect((await fs.readFile(path.join(dir('b'), key))).equals(IMAGES[key]!)).to.equal(true);
  });

  it('exits 1 naming a photo whose bytes are in neither store', async () => {
    await db.query(`INSERT INTO photos (user_id, object_key, content_type, size_bytes) SELECT id, $1, 'image/png', 10 FROM users WHERE username = 'syncer'`, [LOST]);
    try {
      const r = await run({ GRAMINSTA_SYNC_FROM_STORAGE: 'volume', GRAMINSTA_SYNC_FROM_VOLUME_PATH: dir('a'), GRAMINSTA_VOLUME_PATH: dir('b') });
      expect(r.code, r.output).to.equal(1);
      expect(r.summary).to.include({ level: 'error', listed: 4, copied: 0, alreadyThere: 3, missing: 1 });
      expect(String(r.summary!.msg)).to.include(LOST);
    } finally {
      await db.query('DELETE FROM photos WHERE object_key = $1', [LOST]);
    }
  });

  it('exits 2 naming the variable for an unknown source kind, a missing source and a source equal to the target', async () => {
    const unknown = await run({ GRAMINSTA_SYNC_FROM_STORAGE: 'gcs' });
    expect(unknown.code).to.equal(2);
    expect(unknown.output).to.include('GRAMINSTA_SYNC_FROM_STORAGE must be one of s3, volume, origin, got \\"gcs\\"');
    const none = await run({});
    expect(none.code).to.equal(2);
    expect(none.output).to.include('GRAMINSTA_SYNC_FROM_STORAGE is required');
    const same = await run({ GRAMINSTA_SYNC_FROM_STORAGE: 'volume', GRAMINSTA_SYNC_FROM_VOLUME_PATH: dir('a') + '/', GRAMINSTA_VOLUME_PATH: dir('a') });
    expect(same.code).to.equal(2);
    expect(same.output).to.include('GRAMINSTA_SYNC_FROM_* names the same store as GRAMINSTA_*');
  });
});
