import { expect } from 'chai';
import type Koa from 'koa';
import { AppError, invalid, notFound, unavailable } from '../../../service/errors.js';
import { createMetrics } from '../../../service/metrics.js';
import { createKoa, errorHandler, requestContext, statusOf } from '../../../service/http/middleware.js';
import { memoryLogger } from '../fakes.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

interface FakeCtx {
  state: Record<string, unknown>;
  method: string;
  path: string;
  status: number;
  body: unknown;
  headers: Record<string, string>;
  requestHeaders: Record<string, string>;
  set(name: string, value: string): void;
  get(name: string): string;
}

/** The least of a Koa context the middleware touches. */
function fakeCtx(init: Partial<Pick<FakeCtx, 'method' | 'path' | 'requestHeaders' | 'state'>> = {}): FakeCtx {
  const ctx: FakeCtx = {
    state: init.state ?? {},
    method: init.method ?? 'GET',
    path: init.path ?? '/api/v1/things',
    status: 404,
    body: undefined,
    headers: {},
    requestHeaders: init.requestHeaders ?? {},
    set(name, value) {
      this.headers[name.toLowerCase()] = value;
    },
    get(name) {
      return this.requestHeaders[name.toLowerCase()] ?? '';
    },
  };
  return ctx;
}

async function handle(thrown: unknown, ctx = fakeCtx({ state: { requestId: 'req-1' } })): Promise<FakeCtx> {
  await errorHandler()(ctx as unknown as Koa.Context, async () => {
    throw thrown;
  });
  return ctx;
}

describe('errorHandler', () => {
  it('turns an AppError into {error: {code, message, field, requestId}}', async () => {
    const ctx = await handle(invalid('username', 'must be 3-30 characters'));
    expect(ctx.status).to.equal(400);
    expect(ctx.body).to.deep.equal({ error: { code: 'validation_failed', message: 'username: must be 3-30 characters', field: 'username', requestId: 'req-1' } });
  });

  it('leaves field out when no field is at fault', async () => {
    const ctx = await handle(notFound('photo 7'));
    expect(ctx.body).to.deep.equal({ error: { code: 'not_found', message: 'photo 7 not found', requestId: 'req-1' } });
  });

  it('never shows the message of an unknown error', async () => {
    const ctx = await handle(new Error('password authentication failed for user "graminsta" at 10.0.0.5'));
    expect(ctx.status).to.equal(500);
    expect(ctx.body).to.deep.equal({ error: { code: 'internal_error', message: 'internal error', requestId: 'req-1' } });
  });

  it('answers each code with its status', async () => {
    const cases: [AppError, number][] = [
      [new AppError('username_taken', 'username: taken', { field: 'username' }), 409],
      [new AppError('cannot_follow_self', 'username: yourself'), 403],
      [new AppError('upload_too_large', 'content: too big'), 413],
      [new AppError('not_an_image', 'content: not an image'), 415],
      [new AppError('token_revoked', 'revoked'), 401],
    ];
    for (const [err, status] of cases) {
      expect((await handle(err)).status, err.code).to.equal(status);
      expect(statusOf(err.code)).to.equal(status);
    }
  });

  it('never shows the message of an error with a 5xx status property', async () => {
    const ctx = await handle(Object.assign(new Error('ECONNREFUSED 10.1.2.3:5432'), { status: 502, expose: true }));
    expect(ctx.status).to.equal(500);
    expect(JSON.stringify(ctx.body)).to.not.contain('10.1.2.3');
  });

  for (const [name, value] of [['null', null], ['undefined', undefined], ['a string', 'boom: secret'], ['a number', 42]] as const) {
    it(`answers JSON 500 when ${name} is thrown`, async () => {
      const ctx = await handle(value);
      expect(ctx.status).to.equal(500);
      expect(ctx.body).to.deep.equal({ error: { code: 'internal_error', message: 'internal error', requestId: 'req-1' } });
    });
  }

  it('shows a 503 dependency message and asks to retry', async () => {
    const ctx = await handle(unavailable('database_unavailable', 'the database is unavailable; try again shortly', new Error('ECONNREFUSED')));
    expect(ctx.status).to.equal(503);
    expect(ctx.headers['retry-after']).to.equal('2');
    expect((ctx.body as { error: { message: string } }).error.message).to.equal('the database is unavailable; try again shortly');
  });

  it('adds WWW-Authenticate: Bearer to 401s', async () => {
    const ctx = await handle(new AppError('invalid_token', 'the token is not valid'));
    expect(ctx.headers['www-authenticate']).to.equal('Bearer');
  });

  it('maps body-parser failures to stable codes', async () => {
    const parse = await handle(Object.assign(new Error('Unexpected token } in JSON at position 12'), { status: 400, expose: true, type: 'entity.parse.failed' }));
    expect(parse.body).to.deep.equal({ error: { code: 'malformed_json', message: 'body: is not valid JSON', field: 'body', requestId: 'req-1' } });
    const big = await handle(Object.assign(new Error('request entity too large'), { status: 413, expose: true, type: 'entity.too.large' }));
    expect(big.status).to.equal(413);
    expect((big.body as { error: { code: string } }).error.code).to.equal('payload_too_large');
  });

  it('maps other 4xx http errors to a code by status, showing only exposable messages', async () => {
    const shown = await handle(Object.assign(new Error('Method Not Allowed'), { status: 405, expose: true }));
    expect(shown.body).to.deep.equal({ error: { code: 'method_not_allowed', message: 'Method Not Allowed', requestId: 'req-1' } });
    const hidden = await handle(Object.assign(new Error('internal detail'), { status: 418, expose: false }));
    expect(hidden.status).to.equal(418);
    expect(hidden.body).to.deep.equal({ error: { code: 'bad_request', message: 'bad request', requestId: 'req-1' } });
  });

  it('answers not_found JSON when nothing handled the request', async () => {
    const ctx = fakeCtx({ state: { requestId: 'r' }, method: 'GET', path: '/nowhere' });
    await errorHandler()(ctx as unknown as Koa.Context, async () => undefined);
    expect(ctx.status).to.equal(404);
    expect(ctx.body).to.deep.equal({ error: { code: 'not_found', message: 'no route for GET /nowhere', requestId: 'r' } });
  });

  it('answers in the error shape when a router left only a status (405 with Allow)', async () => {
    const ctx = fakeCtx({ state: { requestId: 'r' }, method: 'PATCH', path: '/api/v1/users/alice' });
    await errorHandler()(ctx as unknown as Koa.Context, async () => {
      ctx.status = 405;
      ctx.set('Allow', 'HEAD, GET');
    });
    expect(ctx.status).to.equal(405);
    expect(ctx.headers.allow).to.equal('HEAD, GET');
    expect(ctx.body).to.deep.equal({ error: { code: 'method_not_allowed', message: 'method not allowed', requestId: 'r' } });
  });

  it('leaves a handled response alone', async () => {
    const ctx = fakeCtx();
    await errorHandler()(ctx as unknown as Koa.Context, async () => {
      ctx.status = 200;
      ctx.body = { ok: true };
    });
    expect(ctx.status).to.equal(200);
    expect(ctx.body).to.deep.equal({ ok: true });
  });

  it('logs 5xx as errors with the cause and 4xx not at all', async () => {
    const { log, lines } = memoryLogger();
    await handle(new Error('db exploded', { cause: new Error('disk full') }), fakeCtx({ state: { requestId: 'r', log } }));
    await handle(invalid('x', 'bad'), fakeCtx({ state: { requestId: 'r', log } }));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: 'error', msg: 'request failed', status: 500 });
    expect(lines[0]!.err).to.deep.include({ message: 'db exploded', cause: { name: 'Error', message: 'disk full' } });
  });
});

describe('requestContext', () => {
  async function run(requestHeaders: Record<string, string>) {
    const { log, lines } = memoryLogger();
    const metrics = createMetrics();
    const ctx = fakeCtx({ requestHeaders });
    await requestContext(log, metrics)(ctx as unknown as Koa.Context, async () => {
      ctx.status = 200;
    });
    return { ctx, lines, metrics };
  }

  it('keeps a sane X-Request-Id and echoes it', async () => {
    const { ctx, lines } = await run({ 'x-request-id': 'abc-123.x_y' });
    expect(ctx.state.requestId).to.equal('abc-123.x_y');
    expect(ctx.headers['x-request-id']).to.equal('abc-123.x_y');
    expect(lines[0]).to.include({ msg: 'request', requestId: 'abc-123.x_y', status: 200, method: 'GET' });
  });

  it('tells browsers not to sniff content types, on every response', async () => {
    const { ctx } = await run({});
    expect(ctx.headers['x-content-type-options']).to.equal('nosniff');
  });

  for (const bad of ['', 'has space', 'x'.repeat(65), 'inject\nline', '<script>']) {
    it(`replaces the request id ${JSON.stringify(bad.slice(0, 12))} with a fresh UUID`, async () => {
      const { ctx } = await run({ 'x-request-id': bad });
      expect(ctx.state.requestId).to.match(/^[0-9a-f-]{36}$/);
    });
  }

  it('records the request duration by method, route and status', async () => {
    const { metrics } = await run({});
    const text = await metrics.registry.metrics();
    expect(text).to.match(/http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/things",status="200"\} 1/);
  });
});

describe('createKoa', () => {
  it('logs a client that closes while a body streams as one JSON debug line, and other late errors at error, never a bare stack', async () => {
    const { log, lines } = memoryLogger();
    const app = createKoa(log);
    let sent!: () => void;
    const started = new Promise<void>((r) => (sent = r));
    app.use((ctx) => {
      // A body that sends one chunk, then waits: the client goes away in between.
      ctx.body = new Readable({
        read() {
          if (this.readableLength === 0 && !(this as { pushed?: boolean }).pushed) {
            (this as { pushed?: boolean }).pushed = true;
            this.push(Buffer.alloc(1024));
            sent();
          }
        },
      });
    });
    const stderr: string[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void stderr.push(a.join(' '));
    const server = http.createServer(app.callback());
    try {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const { port } = server.address() as AddressInfo;
      const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => res.once('data', () => req.destroy()));
      req.on('error', () => {});
      await started;
      for (let i = 0; i < 100 && !lines.some((l) => l.level === 'debug'); i++) await new Promise((r) => setTimeout(r, 20));
      app.emit('error', new Error('a body that failed on this side'));
    } finally {
      console.error = orig;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    expect(lines.find((l) => l.level === 'debug')).to.include({ msg: 'client closed the connection before the response ended', code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).to.deep.equal(['response failed after it started']);
    expect(stderr).to.deep.equal([]);
  });
});
