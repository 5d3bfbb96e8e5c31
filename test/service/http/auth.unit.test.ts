import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import type Koa from 'koa';
import { AppError } from '../../../service/errors.js';
import { optionalAuth, principal, requireAuth, viewerId } from '../../../service/http/auth.js';
import type { UserService } from '../../../service/users/user.service.js';

use(chaiAsPromised);

const users = {
  authenticate: async (token: string) => {
    if (token === 'good') return { userId: 7, sessionId: 's'.repeat(24) };
    throw new AppError('invalid_token', 'the token is not valid');
  },
} as unknown as UserService;

function ctxWith(authorization?: string) {
  return { state: {} as Record<string, unknown>, get: (name: string) => (name.toLowerCase() === 'authorization' ? (authorization ?? '') : '') } as unknown as Koa.Context;
}

async function run(mw: Koa.Middleware, ctx: Koa.Context): Promise<boolean> {
  let nextCalled = false;
  await mw(ctx, async () => {
    nextCalled = true;
  });
  return nextCalled;
}

describe('auth middleware', () => {
  it('requireAuth sets the principal from a valid bearer token (scheme case-insensitive)', async () => {
    for (const h of ['Bearer good', 'bearer good']) {
      const ctx = ctxWith(h);
      expect(await run(requireAuth(users), ctx)).to.equal(true);
      expect(principal(ctx)).to.deep.equal({ userId: 7, sessionId: 's'.repeat(24) });
      expect(viewerId(ctx)).to.equal(7);
    }
  });

  it('requireAuth refuses a missing header with missing_token', async () => {
    await expect(run(requireAuth(users), ctxWith())).to.be.rejectedWith(AppError, 'a bearer token is required').and.eventually.include({ code: 'missing_token' });
  });

  for (const h of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer  good', 'Bearer good extra', 'good']) {
    it(`refuses the header ${JSON.stringify(h)} as invalid_token without calling next`, async () => {
      const ctx = ctxWith(h);
      await expect(run(requireAuth(users), ctx)).to.be.rejectedWith(AppError).and.eventually.include({ code: 'invalid_token' });
      await expect(run(optionalAuth(users), ctx)).to.be.rejectedWith(AppError).and.eventually.include({ code: 'invalid_token' });
    });
  }

  it('requireAuth passes on the service refusal of a forged token', async () => {
    await expect(run(requireAuth(users), ctxWith('Bearer forged'))).to.be.rejectedWith(AppError, 'not valid');
  });

  it('optionalAuth lets anonymous requests through as viewer null', async () => {
    const ctx = ctxWith();
    expect(await run(optionalAuth(users), ctx)).to.equal(true);
    expect(viewerId(ctx)).to.equal(null);
    expect(() => principal(ctx)).to.throw(AppError, 'a bearer token is required');
  });

  it('optionalAuth still refuses a bad token rather than treating it as anonymous', async () => {
    await expect(run(optionalAuth(users), ctxWith('Bearer forged'))).to.be.rejectedWith(AppError);
  });
});
