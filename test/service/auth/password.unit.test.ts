import { expect } from 'chai';
import { PASSWORD_PARAMS, hashPassword, needsRehash, verifyPassword } from '../../../service/auth/password.js';

describe('password hashing', () => {
  let stored: string;
  before(async () => {
    stored = await hashPassword('correct horse battery');
  });

  it('stores scrypt$N$r$p$salt$hash at OWASP\'s cost (N=2^15, r=8, p=3)', () => {
    expect(PASSWORD_PARAMS).to.deep.equal({ N: 32768, r: 8, p: 3 });
    expect(stored).to.match(/^scrypt\$32768\$8\$3\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(needsRehash(stored)).to.equal(false);
  });

  it('still verifies a hash stored at the old cost (N=2^14, p=1), and says it needs rehashing', async () => {
    const old = await hashPassword('correct horse battery', { N: 16384, r: 8, p: 1 });
    expect(old).to.match(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('correct horse battery', old)).to.equal(true);
    expect(await verifyPassword('correct horse batterY', old)).to.equal(false);
    expect(needsRehash(old)).to.equal(true);
  });

  it('does not ask to rehash a hash stored at more than the current cost (N=2^17, p=1)', async () => {
    const strong = await hashPassword('correct horse battery', { N: 131072, r: 8, p: 1 });
    expect(await verifyPassword('correct horse battery', strong)).to.equal(true);
    expect(needsRehash(strong)).to.equal(false);
  });

  it('verifies the same password', async () => {
    expect(await verifyPassword('correct horse battery', stored)).to.equal(true);
  });

  it('refuses another password, including a prefix and different case', async () => {
    expect(await verifyPassword('correct horse batter', stored)).to.equal(false);
    expect(await verifyPassword('Correct horse battery', stored)).to.equal(false);
    expect(await verifyPassword('', stored)).to.equal(false);
  });

  it('salts every hash, so one password hashes differently twice', async () => {
    const again = await hashPassword('correct horse battery');
    expect(again).to.not.equal(stored);
    expect(again.split('$')[4]).to.not.equal(stored.split('$')[4]);
    expect(await verifyPassword('correct horse battery', again)).to.equal(true);
  });

  it('hashes non-ASCII passwords', async () => {
    const h = await hashPassword('pässwörd-密码-🔑');
    expect(await verifyPassword('pässwörd-密码-🔑', h)).to.equal(true);
    expect(await verifyPassword('passwort-密码-🔑', h)).to.equal(false);
  });

  describe('a damaged stored hash never verifies and never throws', () => {
    const parts = () => stored.split('$');
    const cases: [string, () => string][] = [
      ['empty', () => ''],
      ['another scheme', () => ['bcrypt', ...parts().slice(1)].join('$')],
      ['a missing part', () => parts().slice(0, 5).join('$')],
      ['an empty hash (would compare two empty buffers)', () => [...parts().slice(0, 5), ''].join('$')],
      ['a short hash', () => [...parts().slice(0, 5), parts()[5]!.slice(0, 4)].join('$')],
      ['an empty salt', () => [...parts().slice(0, 4), '', parts()[5]].join('$')],
      ['N not a number', () => ['scrypt', 'abc', ...parts().slice(2)].join('$')],
      ['N not a power of two', () => ['scrypt', '16383', ...parts().slice(2)].join('$')],
      ['N too large for the memory limit', () => ['scrypt', '16777216', ...parts().slice(2)].join('$')],
      ['r zero', () => ['scrypt', '16384', '0', ...parts().slice(3)].join('$')],
    ];
    for (const [name, make] of cases) {
      it(name, async () => {
        expect(await verifyPassword('correct horse battery', make())).to.equal(false);
      });
    }
  });
});
