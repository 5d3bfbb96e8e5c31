import { expect } from 'chai';
import { decide, limitHeaders, windowAt, windowKey, type LimitPolicy } from '../../../service/ratelimit/rate-limit.js';
import { MemoryWindowStore } from '../../../service/ratelimit/memory-window.store.js';

const login: LimitPolicy = { name: 'login-ip', quota: 3, windowSeconds: 60 };

describe('rate limit decisions', () => {
  it('puts each instant in one fixed window and says when it ends', () => {
    expect(windowAt(0, 60)).to.deep.equal({ index: 0, endsAtMs: 60000 });
    expect(windowAt(59999, 60)).to.deep.equal({ index: 0, endsAtMs: 60000 });
    expect(windowAt(60000, 60)).to.deep.equal({ index: 1, endsAtMs: 120000 });
  });

  it('allows up to the quota and refuses the next, with the seconds left in the window', () => {
    expect(decide(login, 3, 15000)).to.deep.include({ allowed: true, remaining: 0, resetSeconds: 45 });
    expect(decide(login, 4, 15000)).to.deep.include({ allowed: false, remaining: 0, resetSeconds: 45 });
    expect(decide(login, 1, 59999).resetSeconds).to.equal(1);
  });

  it('keys windows by policy, subject and window index, with separators stripped from the subject', () => {
    expect(windowKey(login, '10.0.0.1', 61000)).to.equal('ratelimit:login-ip:10.0.0.1:1');
    expect(windowKey(login, 'Eve*\n', 0)).to.equal('ratelimit:login-ip:eve__:0');
    expect(windowKey(login, '::1', 0)).to.equal('ratelimit:login-ip:::1:0');
    expect(windowKey(login, 'a'.repeat(500), 0).length).to.be.lessThan(130);
  });

  it('formats RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-08) and Retry-After when refused', () => {
    const account: LimitPolicy = { name: 'login-account', quota: 10, windowSeconds: 300 };
    expect(limitHeaders([decide(login, 1, 0), decide(account, 2, 0)])).to.deep.equal({
      'RateLimit-Policy': '"login-ip";q=3;w=60, "login-account";q=10;w=300',
      RateLimit: '"login-ip";r=2;t=60, "login-account";r=8;t=300',
    });
    expect(limitHeaders([decide(login, 4, 30000)])).to.deep.include({ 'Retry-After': '30', RateLimit: '"login-ip";r=0;t=30' });
    expect(limitHeaders([])).to.deep.equal({});
  });
});

describe('MemoryWindowStore', () => {
  it('counts hits per key until the window ends, then starts again', () => {
    const store = new MemoryWindowStore();
    expect([store.hit('k', 1000, 0), store.hit('k', 1000, 500), store.hit('other', 1000, 500)]).to.deep.equal([1, 2, 1]);
    expect(store.hit('k', 2000, 1000)).to.equal(1);
  });

  it('holds at most maxKeys keys, dropping ended windows first and then the oldest', () => {
    const store = new MemoryWindowStore(2);
    store.hit('a', 100, 0);
    store.hit('b', 1000, 0);
    store.hit('c', 1000, 200);
    expect(store.size).to.equal(2);
    expect(store.hit('b', 1000, 200)).to.equal(2);
    store.hit('d', 1000, 300);
    expect(store.size).to.equal(2);
    expect(store.hit('b', 1000, 300)).to.equal(1);
  });
});
