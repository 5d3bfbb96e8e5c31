// The API on volume storage speaks the origin protocol on /images/<key> when GRAMINSTA_ORIGIN_TOKEN is set, so another
// process can copy images into or out of the single-machine stage; without the token it stays read-only.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startStack, client, PNG, type Stack } from './harness.js';
import { loadConfig } from '../../service/config.js';
import { createLogger } from '../../service/log.js';
import { startApi, type RunningServer } from '../../service/app/server.infra.js';
import { originStorage } from '../../service/storage/origin.storage.js';
import { objectSize } from '../../service/storage/storage.js';

use(chaiAsPromised);

const KEY = 'photos/CCCCCCCCCCCCCCCCCCCCCC.png';

describe('API on volume storage as an origin', function () {
  this.timeout(120000);
  let stack: Stack;
  let plain: RunningServer;
  before(async () => {
    stack = await startStack({ replica: false, redis: 'none', storage: 'volume', extraEnv: { GRAMINSTA_ORIGIN_TOKEN: 'volume-origin-secret' } });
    const { GRAMINSTA_ORIGIN_TOKEN: _, ...noToken } = stack.env;
    plain = await startApi(loadConfig(noToken, 'api'), createLogger('error'));
  });
  after(async () => {
    await plain?.shutdown(1000);
    await stack?.stop();
  });

  it('accepts PUT and DELETE with the token and serves GET, HEAD and ranges like origin mode', async () => {
    const storage = originStorage(stack.api.url, 'volume-origin-secret');
    await storage.put(KEY, PNG, 'image/png');
    expect((await fs.readFile(path.join(stack.volume, KEY))).equals(PNG)).to.equal(true);
    expect(await objectSize(storage, KEY)).to.equal(PNG.length);
    expect((await storage.head(KEY, 8)).equals(PNG.subarray(0, 8))).to.equal(true);
    const got = await fetch(`${stack.api.url}/images/${KEY}`);
    expect(got.status).to.equal(200);
    expect(got.headers.get('cache-control')).to.include('immutable');
    expect(got.headers.get('content-type')).to.equal('image/png');
    expect(Buffer.from(await got.arrayBuffer()).equals(PNG)).to.equal(true);
    await storage.delete(KEY);
    expect(await objectSize(storage, KEY)).to.equal(null);
  });

  it('serves photos uploaded through the API on the same route', async () => {
    const call = client(stack.api.url);
    const token = (await call('POST', '/api/v1/users', { body: { username: 'vol_origin', password: 'password123' } })).body.token;
    const up = await call('POST', '/api/v1/uploads', { token, body: { contentType: 'image/png', size: PNG.length } });
    expect((await call('PUT', `/api/v1/uploads/${up.body.uploadId}/content`, { token, raw: new Uint8Array(PNG) })).status).to.equal(204);
    // Before it is a photo, the upload waits under uploads/, which the origin protocol serves only with the token.
    const pending = `uploads/${up.body.uploadId}.png`;
    expect((await fetch(`${stack.api.url}/images/${pending}`)).status).to.equal(404);
    expect((await fetch(`${stack.api.url}/images/${pending}`, { headers: { authorization: 'Bearer volume-origin-secret' } })).status).to.equal(200);
    const photo = (await call('POST', '/api/v1/photos', { token, body: { uploadId: up.body.uploadId } })).body.photo;
    const key = new URL(photo.imageUrl, stack.api.url).pathname.slice('/images/'.length);
    expect(await objectSize(originStorage(stack.api.url, ''), key)).to.equal(PNG.length);
  });

  it('refuses writes with a wrong token, non-images and bad keys', async () => {
    const wrong = await fetch(`${stack.api.url}/images/${KEY}`, { method: 'PUT', body: new Uint8Array(PNG), headers: { authorization: 'Bearer wrong' } });
    expect(wrong.status).to.equal(401);
    const del = await fetch(`${stack.api.url}/images/${KEY}`, { method: 'DELETE' });
    expect(del.status).to.equal(401);
    const notImage = await fetch(`${stack.api.url}/images/${KEY}`, { method: 'PUT', body: 'plain text, not a png'.padEnd(64, '.'), headers: { authorization: 'Bearer volume-origin-secret' } });
    expect(notImage.status).to.equal(415);
    const trav = await fetch(`${stack.api.url}/images/..%2F..%2Fetc%2Fpasswd`, { method: 'PUT', body: new Uint8Array(PNG), headers: { authorization: 'Bearer volume-origin-secret' } });
    expect(trav.status).to.equal(400);
  });

  it('refuses writes without GRAMINSTA_ORIGIN_TOKEN, as before', async () => {
    const put = await fetch(`${plain.url}/images/${KEY}`, { method: 'PUT', body: new Uint8Array(PNG), headers: { authorization: 'Bearer ' } });
    expect(put.status).to.be.within(400, 499);
    await expect(fs.stat(path.join(stack.volume, KEY))).to.be.rejected;
    await expect(originStorage(plain.url, 'volume-origin-secret').put(KEY, PNG, 'image/png')).to.be.rejectedWith(/HTTP 4\d\d/);
  });
});
