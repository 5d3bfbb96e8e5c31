import { expect } from 'chai';
import { hashPassword, verifyPassword } from '../../../service/auth/password.js';

describe('password hashing', () => {
  let stored: string;
  before(async () => {
    stored = await hashPassword('correct horse battery');
  });

  it('stores scrypt$N$r$p$salt$hash', () => {
    expect(stored).to.match(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
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
