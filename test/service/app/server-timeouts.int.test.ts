// A client that stalls its request head or body is cut off at GRAMINSTA_HTTP_*_TIMEOUT_SECONDS, not Node's 300 s default.
import { expect } from 'chai';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../service/config.js';
import { createLogger } from '../../../service/log.js';
import { startOrigin, type RunningServer } from '../../../service/app/server.infra.js';

/** Opens a socket, writes `data`, and resolves with how long the server took to close it and what it answered. */
function stall(port: number, data: string): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answer = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve({ ms: Date.now() - started, answer }));
  });
}

describe('server timeouts (origin mode, real sockets)', function () {
  this.timeout(30000);
  let dir: string;
  let server: RunningServer;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-timeouts-'));
    const env = { PORT: '0', GRAMINSTA_METRICS_PORT: '0', GRAMINSTA_VOLUME_PATH: dir, GRAMINSTA_ORIGIN_TOKEN: 'origin-token-0123456789', GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '0', LOG_LEVEL: 'error', GRAMINSTA_HTTP_HEADERS_TIMEOUT_SECONDS: '1', GRAMINSTA_HTTP_REQUEST_TIMEOUT_SECONDS: '2' };
    server = await startOrigin(loadConfig(env, 'origin'), createLogger('error'));
  });
  after(async () => {
    await server?.shutdown(1000);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('closes a connection whose request head never ends, within the headers timeout', async () => {
    const { ms, answer } = await stall(server.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(ms).to.be.lessThan(3500);
    expect(answer).to.match(/^HTTP\/1\.1 408/);
  });

  it('closes a connection whose body stalls, within the request timeout', async () => {
    const { ms, answer } = await stall(server.port, 'PUT /images/a/b.png HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer origin-token-0123456789\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n0123456789');
    expect(ms).to.be.lessThan(4500);
    expect(ms).to.be.at.least(1500);
    expect(answer).to.not.match(/^HTTP\/1\.1 2/);
  });
});
