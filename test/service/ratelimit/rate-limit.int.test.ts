// Login limits end to end on real Postgres and Redis: 429 with Retry-After and the RateLimit fields, one count shared
// by two API instances through Redis, in-process counting when Redis is down, and a fresh budget in the next window.
import { expect } from 'chai';
import { startStack, client, type Stack } from '../harness.js';
import { loadConfig } from '../../../service/config.js';
import { createLogger } from '../../../service/log.js';
import { startApi, type RunningServer } from '../../../service/app/server.infra.js';

describe('rate limits (real Postgres + Redis, two API instances)', function () {
  this.timeout(180000);
  let stack: Stack;
  let a: RunningServer;
  let b: RunningServer;
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  before(async () => {
    stack = await startStack({ replica: false, redis: 'standalone', extraEnv: { GRAMINSTA_RATE_LIMITS_ENABLED: 'true', GRAMINSTA_RATE_LIMIT_LOGIN_PER_IP: '4', GRAMINSTA_RATE_LIMIT_LOGIN_PER_ACCOUNT: '100', GRAMINSTA_RATE_LIMIT_LOGIN_WINDOW_SECONDS: '60', GRAMINSTA_RATE_LIMIT_SIGNUP_PER_IP: '100' } });
    const cfg = loadConfig(stack.env, 'api');
    a = await startApi(cfg, createLogger('error'), { now: () => now });
    b = await startApi(cfg, createLogger('error'), { now: () => now });
    expect((await client(a.url)('POST', '/api/v1/users', { body: { username: 'limited', password: 'password-1' } })).status).to.equal(201);
  });
  after(async () => {
    await a?.shutdown(1000);
    await b?.shutdown(1000);
    await stack?.stop();
  });
  const login = (s: RunningServer) => client(s.url)('POST', '/api/v1/sessions', { body: { username: 'limited', password: 'password-1' } });

  it('shares the per-IP login budget between instances, answers 429 with Retry-After and RateLimit fields, and resets with the window', async () => {
    now += 15000; // 45 s left in the window
    const statuses = [];
    for (const s of [a, b, a, b]) {
      const res = await login(s);
      statuses.push(res.status);
      expect(res.headers.get('ratelimit-policy')).to.equal('"login-ip";q=4;w=60, "login-account";q=100;w=60');
    }
    expect(statuses).to.deep.equal([201, 201, 201, 201]);
    const refused = await login(b);
    expect(refused.status).to.equal(429);
    expect(refused.body.error.code).to.equal('rate_limited');
    expect(refused.headers.get('retry-after')).to.equal('45');
    expect(refused.headers.get('ratelimit')).to.equal('"login-ip";r=0;t=45');
    now += 45000;
    expect((await login(a)).status).to.equal(201);
  });

  it('counts in process while Redis is down instead of failing the request', async () => {
    now += 60000;
    await stack.redis!.kill();
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await login(a)).status);
      expect(statuses).to.deep.equal([201, 201, 201, 201, 429]);
      const errors = Number(/_total (\d+)$/m.exec(await a.metrics.registry.getSingleMetricAsString('graminsta_ratelimit_store_errors_total'))![1]);
      expect(errors).to.be.at.least(5);
    } finally {
      await stack.redis!.restart();
    }
  });
});
