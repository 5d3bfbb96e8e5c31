// The profile GET answered before Koa (profileFastRead) against the API's own Koa app, both over loopback: for a
// profile the near cache holds, the same status, headers, bytes, request metric and access-log line; every request
// the Koa route would answer differently (a token, a conditional request, a query, another spelling, a miss) is left
// to Koa.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createApiApp } from '../../../service/app/api.app.js';
import { createMetrics, type Metrics } from '../../../service/metrics.js';
import type { UserService } from '../../../service/users/user.service.js';
import type { PhotoService } from '../../../service/photos/photo.service.js';
import type { Profile } from '../../../service/users/user.repository.js';
import { AppError } from '../../../service/errors.js';
import { memoryLogger } from '../fakes.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** `method` `path` on `base` with `headers` through node:http (fetch adds headers of its own). */
function request(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

const ann: Profile = Object.freeze({ id: 7, username: 'ann', displayName: 'Ann Ö', bio: 'bio', followers: 1, following: 2, photos: 3, createdAt: '2025-01-01T00:00:00.000Z' });

/** A user service that holds `ann` in its "near cache" while `held` is true and answers her profile either way. */
function fakeUsers(state: { held: boolean }): UserService {
  return {
    heldProfile: (username: string) => (state.held && username === 'ann' ? ann : undefined),
    profileByUsername: async (username: string) => {
      if (username !== 'ann') throw new AppError('not_found', `user ${username} not found`);
      return ann;
    },
    authenticate: async () => {
      throw new AppError('invalid_token', 'the token is not valid');
    },
  } as unknown as UserService;
}

describe('profileFastRead (GET /api/v1/users/:username before Koa)', () => {
  const state = { held: true };
  const servers: http.Server[] = [];
  let fastBase: string;
  let koaBase: string;
  let fastMetrics: Metrics;
  let koaMetrics: Metrics;
  const fastLog = memoryLogger();
  const koaLog = memoryLogger();
  let answeredFast = 0;

  const listen = async (handler: http.RequestListener): Promise<string> => {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const app = (log: memoryLoggerResult['log'], metrics: Metrics) => createApiApp({ log, metrics, users: fakeUsers(state), photos: {} as PhotoService, ready: () => ({ ok: true }), maxUploadBytes: 1 << 20 });

  before(async () => {
    fastMetrics = createMetrics();
    koaMetrics = createMetrics();
    const withFast = app(fastLog.log, fastMetrics);
    const koaOnly = app(koaLog.log, koaMetrics);
    const fastHandle = withFast.app.callback();
    fastBase = await listen((req, res) => {
      if (withFast.fastRead(req, res)) answeredFast++;
      else void fastHandle(req, res);
    });
    koaBase = await listen(koaOnly.app.callback());
  });
  after(async () => Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))));
  beforeEach(() => {
    state.held = true;
    answeredFast = 0;
  });

  it('answers a held profile itself with the status, headers and bytes the Koa route gives', async () => {
    const headers = { 'x-request-id': 'req-1' };
    const fast = await request(fastBase, '/api/v1/users/ann', headers);
    const koa = await request(koaBase, '/api/v1/users/ann', headers);
    expect(answeredFast).to.equal(1);
    expect(fast.status).to.equal(200);
    expect(JSON.parse(fast.body)).to.deep.equal({ user: ann });
    expect(fast.body).to.equal(koa.body);
    const { date: _fd, ...fastHeaders } = fast.headers;
    const { date: _kd, ...koaHeaders } = koa.headers;
    expect(fastHeaders).to.deep.equal(koaHeaders);
    expect(fastHeaders).to.include({ 'access-control-allow-origin': '*', 'x-request-id': 'req-1', 'x-content-type-options': 'nosniff', 'content-type': 'application/json; charset=utf-8' });
    expect(Number(fastHeaders['content-length'])).to.equal(Buffer.byteLength(fast.body));
  });

  it('gives a request without a sane X-Request-Id a fresh one, as the Koa chain does', async () => {
    const a = await request(fastBase, '/api/v1/users/ann', { 'x-request-id': 'not sane!' });
    const b = await request(fastBase, '/api/v1/users/ann');
    expect(answeredFast).to.equal(2);
    expect(a.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    expect(b.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/).and.not.equal(a.headers['x-request-id']);
  });

  it('records the request in the same histogram series and access-log line as the Koa route', async () => {
    const series = async (m: Metrics) => /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/users\/:username",status="200"\} (\d+)/.exec(await m.registry.getSingleMetricAsString('http_request_duration_seconds'))?.[1];
    const [fastBefore, koaBefore] = [Number((await series(fastMetrics)) ?? 0), Number((await series(koaMetrics)) ?? 0)];
    fastLog.lines.length = 0;
    koaLog.lines.length = 0;
    await request(fastBase, '/api/v1/users/ann', { 'x-request-id': 'req-2' });
    await request(koaBase, '/api/v1/users/ann', { 'x-request-id': 'req-2' });
    expect(Number(await series(fastMetrics))).to.equal(fastBefore + 1);
    expect(Number(await series(koaMetrics))).to.equal(koaBefore + 1);
    const line = (lines: Record<string, unknown>[]) => {
      const l = lines.find((x) => x.msg === 'request')!;
      expect(l.durationMs).to.be.a('number');
      const { time: _t, durationMs: _d, ...rest } = l;
      return rest;
    };
    expect(line(fastLog.lines)).to.deep.equal(line(koaLog.lines));
    expect(line(fastLog.lines)).to.include({ requestId: 'req-2', method: 'GET', path: '/api/v1/users/ann', route: '/api/v1/users/:username', status: 200 });
  });

  const leftToKoa: [string, string, Record<string, string>, string?][] = [
    ['a bearer token (the caller may follow her: followedByMe)', '/api/v1/users/ann', { authorization: 'Bearer x' }],
    ['If-None-Match (a 304 may be due)', '/api/v1/users/ann', { 'if-none-match': '"x"' }],
    ['If-Modified-Since', '/api/v1/users/ann', { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' }],
    ['a query string', '/api/v1/users/ann?x=1', {}],
    ['a trailing slash', '/api/v1/users/ann/', {}],
    ['an encoded username', '/api/v1/users/%61nn', {}],
    ['another spelling of the path', '/API/v1/users/ann', {}],
    ['an invalid username', '/api/v1/users/A', {}],
    ['HEAD', '/api/v1/users/ann', {}, 'HEAD'],
    ['another method', '/api/v1/users/ann', {}, 'DELETE'],
    ['another route below the prefix', '/api/v1/users/ann/follow', {}, 'GET'],
  ];
  for (const [what, path, headers, method] of leftToKoa) {
    it(`leaves ${what} to Koa, which answers as it always did`, async () => {
      const fast = await request(fastBase, path, { ...headers, 'x-request-id': 'req-3' }, method);
      const koa = await request(koaBase, path, { ...headers, 'x-request-id': 'req-3' }, method);
      expect(answeredFast).to.equal(0);
      expect(fast.status).to.equal(koa.status);
      expect(fast.body).to.equal(koa.body);
    });
  }

  it('leaves a profile the near cache does not hold to Koa', async () => {
    state.held = false;
    const r = await request(fastBase, '/api/v1/users/ann');
    expect(answeredFast).to.equal(0);
    expect(r.status).to.equal(200);
    expect(JSON.parse(r.body)).to.deep.equal({ user: ann });
  });
});

type memoryLoggerResult = ReturnType<typeof memoryLogger>;
