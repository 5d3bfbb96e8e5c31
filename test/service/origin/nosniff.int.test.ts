// Origin mode serves uploaded bytes to browsers: every response says `nosniff`, so a file that only looks like an image is never rendered as HTML.
import { expect } from 'chai';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../service/config.js';
import { createLogger } from '../../../service/log.js';
import { startOrigin, type RunningServer } from '../../../service/app/server.infra.js';
import { PNG } from '../harness.js';

describe('origin mode: X-Content-Type-Options', function () {
  this.timeout(30000);
  const token = 'origin-token-0123456789';
  let dir: string;
  let origin: RunningServer;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-nosniff-'));
    origin = await startOrigin(loadConfig({ PORT: '0', GRAMINSTA_METRICS_PORT: '0', GRAMINSTA_VOLUME_PATH: dir, GRAMINSTA_ORIGIN_TOKEN: token, GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '0', LOG_LEVEL: 'error' }, 'origin'), createLogger('error'));
  });
  after(async () => {
    await origin?.shutdown(1000);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('sends nosniff with images, ranges, HEAD and errors', async () => {
    const url = `${origin.url}/images/photos/AAAAAAAAAAAAAAAAAAAAAA.png`;
    expect((await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png' }, body: new Uint8Array(PNG) })).status).to.equal(204);
    for (const res of [await fetch(url), await fetch(url, { headers: { range: 'bytes=0-7' } }), await fetch(url, { method: 'HEAD' }), await fetch(`${origin.url}/images/photos/BBBBBBBBBBBBBBBBBBBBBB.png`)]) {
      expect([200, 206, 404]).to.include(res.status);
      expect(res.headers.get('x-content-type-options'), `status ${res.status}`).to.equal('nosniff');
      await res.arrayBuffer();
    }
  });
});
