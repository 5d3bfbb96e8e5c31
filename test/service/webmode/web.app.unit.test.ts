import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createLogger } from '../../../service/log.js';
import { createMetrics } from '../../../service/metrics.js';
import { createWebApp } from '../../../service/webmode/web.app.js';

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends a request with the path exactly as given (no client-side normalisation). */
function request(port: number, rawPath: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web mode (temp web root, in-process server on 127.0.0.1)', () => {
  let dir: string;
  let root: string;
  const servers: http.Server[] = [];

  async function start(opts: { apiBaseUrl?: string; cdnBaseUrl?: string; draining?: boolean } = {}): Promise<number> {
    const ready = () => (opts.draining ? { ok: false, reason: 'shutting down' } : { ok: true });
    const app = createWebApp({ log: createLogger('error', {}, () => undefined), metrics: createMetrics(), root, apiBaseUrl: opts.apiBaseUrl ?? '', cdnBaseUrl: opts.cdnBaseUrl ?? '', ready });
    const server = http.createServer(app.callback());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-web-'));
    root = path.join(dir, 'dist');
    await fs.mkdir(path.join(root, 'assets'), { recursive: true });
    await fs.writeFile(path.join(dir, 'secret.txt'), 'TOP-SECRET');
    await fs.writeFile(path.join(dir, 'secret'), 'TOP-SECRET');
    await fs.writeFile(path.join(root, 'index.html'), '<!doctype html><title>graminsta</title>');
    await fs.writeFile(path.join(root, 'assets', 'index-B_4Xj20N.js'), 'console.log(1)');
    await fs.writeFile(path.join(root, 'assets', 'index-DokqR96E.css'), 'body{}');
    await fs.writeFile(path.join(root, 'robots.txt'), 'User-agent: *');
    await fs.writeFile(path.join(root, 'apple-touch-icon.png'), 'png');
  });

  after(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe('caching headers', () => {
    let port: number;
    before(async () => {
      port = await start();
    });

    it('serves index.html with no-cache at /', async () => {
      const res = await request(port, '/');
      expect(res.status).to.equal(200);
      expect(res.headers['cache-control']).to.equal('no-cache');
      expect(res.headers['content-type']).to.equal('text/html; charset=utf-8');
      expect(res.body).to.contain('<title>graminsta</title>');
    });

    it('serves /index.html itself with no-cache', async () => {
      expect((await request(port, '/index.html')).headers['cache-control']).to.equal('no-cache');
    });

    it('falls back to index.html (no-cache) for client-side routes', async () => {
      const res = await request(port, '/users/alice');
      expect(res.status).to.equal(200);
      expect(res.headers['cache-control']).to.equal('no-cache');
      expect(res.body).to.contain('graminsta');
    });

    it('serves hashed assets as immutable with their content type', async () => {
      const js = await request(port, '/assets/index-B_4Xj20N.js');
      expect(js.status).to.equal(200);
      expect(js.headers['cache-control']).to.equal('public, max-age=31536000, immutable');
      expect(js.headers['content-type']).to.match(/^text\/javascript/);
      expect(js.body).to.equal('console.log(1)');
      expect((await request(port, '/assets/index-DokqR96E.css')).headers['content-type']).to.match(/^text\/css/);
    });

    it('gives unhashed files a short cache, even with long hyphenated names', async () => {
      expect((await request(port, '/robots.txt')).headers['cache-control']).to.equal('public, max-age=300');
      expect((await request(port, '/apple-touch-icon.png')).headers['cache-control']).to.equal('public, max-age=300');
    });

    it('answers a JSON 404 for a missing file with an extension', async () => {
      const res = await request(port, '/assets/missing-12345678.js');
      expect(res.status).to.equal(404);
      expect(JSON.parse(res.body)).to.deep.include({ error: { code: 'not_found', message: 'no file /assets/missing-12345678.js', requestId: res.headers['x-request-id'] } });
    });

    it('refuses writes with 405', async () => {
      const res = await request(port, '/index.html', { method: 'POST' });
      expect(res.status).to.equal(405);
      expect(JSON.parse(res.body).error.code).to.equal('method_not_allowed');
    });

    it('answers the probes', async () => {
      expect((await request(port, '/healthz')).status).to.equal(200);
      expect((await request(port, '/readyz')).status).to.equal(200);
      // Metrics have a port of their own (app/metrics-server.infra.ts); here /metrics is not the client's page either.
      const metrics = await request(port, '/metrics');
      expect(metrics.status).to.equal(404);
      expect(JSON.parse(metrics.body).error.code).to.equal('not_found');
    });

    it('is not ready while draining', async () => {
      const draining = await start({ draining: true });
      const res = await request(draining, '/readyz');
      expect(res.status).to.equal(503);
      expect(JSON.parse(res.body)).to.deep.equal({ status: 'not ready', reason: 'shutting down' });
      expect((await request(draining, '/healthz')).status).to.equal(200);
    });
  });

  describe('/config.json', () => {
    it('returns the configured API and CDN base URLs, not cached', async () => {
      const port = await start({ apiBaseUrl: 'https://api.example.com', cdnBaseUrl: 'https://cdn.example.com' });
      const res = await request(port, '/config.json');
      expect(res.status).to.equal(200);
      expect(res.headers['cache-control']).to.equal('no-cache');
      expect(res.headers['content-type']).to.match(/^application\/json/);
      expect(JSON.parse(res.body)).to.deep.equal({ apiBaseURL: 'https://api.example.com', cdnBaseURL: 'https://cdn.example.com' });
    });

    it('falls back to the page origin without a public API URL', async () => {
      const port = await start();
      expect(JSON.parse((await request(port, '/config.json')).body)).to.deep.equal({ apiBaseURL: `http://127.0.0.1:${port}`, cdnBaseURL: '' });
    });

    it('uses the scheme and host the ingress saw (X-Forwarded-*) for that origin', async () => {
      const port = await start();
      const res = await request(port, '/config.json', { headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'photos.example.com' } });
      expect(JSON.parse(res.body).apiBaseURL).to.equal('https://photos.example.com');
    });
  });

  describe('path traversal', () => {
    let port: number;
    before(async () => {
      port = await start();
    });

    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E%2Fsecret.txt',
      '/..%2fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/..\\secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      `/${encodeURIComponent(path.join(os.tmpdir(), 'x', '..'))}/secret.txt`,
      '//secret.txt',
      '/secret.txt%00.js',
      '/%00',
      '/%',
      '/../secret',
      '/%2e%2e/secret',
    ];
    for (const p of attempts) {
      it(`never serves a file outside the root for ${p}`, async () => {
        const res = await request(port, p);
        expect(res.body).to.not.contain('TOP-SECRET');
        if (path.posix.extname(decodeURIComponentSafe(p)) !== '') expect(res.status).to.be.oneOf([400, 404]);
        else expect([res.status, res.headers['cache-control']]).to.deep.equal([200, 'no-cache']);
      });
    }
  });
});

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
