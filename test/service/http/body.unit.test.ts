// readBody over a real loopback socket: bodies within the limit, too large (declared or sent), and cut short.
import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { errorHandler } from '../../../service/http/middleware.js';
import { readBody } from '../../../service/http/body.js';

/** Sends raw HTTP/1.1 bytes and resolves with the status line and body the server answered, or '' when it hung up. */
function raw(port: number, request: string, opts: { endAfterWrite?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(request);
      if (opts.endAfterWrite) socket.end();
    });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('readBody (raw-body, in-process server on 127.0.0.1)', () => {
  let server: http.Server;
  let port: number;
  let aborted: Promise<unknown>;
  let onAbort: (err: unknown) => void;

  before(async () => {
    const app = new Koa();
    // The aborted request's socket is gone when Koa tries to answer; that is expected here, not worth a stack trace.
    app.silent = true;
    app.use(errorHandler());
    app.use(async (ctx) => {
      try {
        const body = await readBody(ctx, 10);
        ctx.body = { bytes: body.length, text: body.toString('utf8') };
      } catch (err) {
        onAbort(err);
        throw err;
      }
    });
    server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  beforeEach(() => {
    aborted = new Promise((resolve) => (onAbort = resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('returns a body within the limit', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'PUT', body: 'hello' });
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ bytes: 5, text: 'hello' });
  });

  it('refuses a declared length over the limit before reading, and closes the connection', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'PUT', body: 'x'.repeat(11) });
    expect(res.status).to.equal(413);
    expect(res.headers.get('connection')).to.equal('close');
    expect((await res.json()).error).to.include({ code: 'upload_too_large', message: 'content: 11 bytes is more than the allowed 10', field: 'content' });
  });

  it('refuses a chunked body that grows over the limit', async () => {
    const answer = await raw(port, 'PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n');
    expect(answer).to.match(/^HTTP\/1.1 413 /);
    expect(answer).to.include('"message":"content: more than the allowed 10 bytes"');
  });

  it('answers request_aborted when the client hangs up before sending the declared bytes', async () => {
    await raw(port, 'PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nabc', { endAfterWrite: true });
    expect(await aborted).to.include({ code: 'request_aborted', field: 'content' });
  });
});
