// jsonResponder on a real Koa app over loopback: the body and ETag, 304 on a matching If-None-Match, and the bytes
// of a frozen value serialized once while those of other values are serialized every time.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { jsonResponder, jsonSerializer } from '../../../service/http/json-response.js';

/** GET `url` with `headers` through node:http (fetch adds Cache-Control: no-cache to conditional requests). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; etag: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag, body }));
      })
      .on('error', reject);
  });
}

describe('jsonResponder', () => {
  let server: http.Server;
  let base: string;
  let current: { id: number; name: string };
  let wraps = 0;
  const respond = jsonResponder(
    jsonSerializer((user: { id: number; name: string }) => {
      wraps++;
      return { user };
    }),
  );

  before(async () => {
    const app = new Koa();
    app.use((ctx) => respond(ctx, current));
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (wraps = 0));

  it('answers the wrapped value as JSON with a strong ETag', async () => {
    current = { id: 1, name: 'ann' };
    const res = await fetch(base);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(res.headers.get('etag')).to.match(/^"[A-Za-z0-9_-]{27}"$/);
    expect(await res.json()).to.deep.equal({ user: { id: 1, name: 'ann' } });
  });

  it('answers 304 without a body when If-None-Match names the current ETag, 200 when it names another', async () => {
    current = Object.freeze({ id: 2, name: 'bob' });
    const etag = (await get(base)).etag!;
    const same = await get(base, { 'if-none-match': etag });
    expect(same.status).to.equal(304);
    expect(same.etag).to.equal(etag);
    expect(same.body).to.equal('');
    const other = await get(base, { 'if-none-match': '"something-else"' });
    expect(other.status).to.equal(200);
    expect(JSON.parse(other.body).user.name).to.equal('bob');
  });

  it('serializes a frozen value once, and a new value (even with equal fields) anew', async () => {
    current = Object.freeze({ id: 3, name: 'cy' });
    const first = await fetch(base).then((r) => r.headers.get('etag'));
    const second = await fetch(base).then((r) => r.headers.get('etag'));
    expect(wraps).to.equal(1);
    expect(second).to.equal(first);
    // A replaced near copy is a new object: its bytes are computed from it, never taken from the old one.
    current = Object.freeze({ id: 3, name: 'cy, renamed' });
    const res = await fetch(base);
    expect(wraps).to.equal(2);
    expect(res.headers.get('etag')).to.not.equal(first);
    expect((await res.json()).user.name).to.equal('cy, renamed');
  });

  it('serializes a value that is not frozen on every response (it may change between them)', async () => {
    current = { id: 4, name: 'dee' };
    await fetch(base);
    current.name = 'dee, changed in place';
    const res = await fetch(base);
    expect(wraps).to.equal(2);
    expect((await res.json()).user.name).to.equal('dee, changed in place');
  });
});
