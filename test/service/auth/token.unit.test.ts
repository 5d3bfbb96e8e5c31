import { expect } from 'chai';
import { newSessionId, signToken, verifyToken, type TokenClaims } from '../../../service/auth/token.js';

const SECRET = 'unit-test-secret-0123456789';
const NOW = 1_750_000_000;

describe('bearer tokens', () => {
  const claims: TokenClaims = { sessionId: newSessionId(), userId: 42, expiresAt: NOW + 3600 };
  const token = signToken(SECRET, claims);

  it('round-trips the claims', () => {
    expect(verifyToken(SECRET, token, NOW)).to.deep.equal(claims);
  });

  it('has the documented shape <session>.<user>.<expiry>.<signature>', () => {
    const [s, u, e, sig] = token.split('.');
    expect([s, u, e]).to.deep.equal([claims.sessionId, '42', String(NOW + 3600)]);
    expect(sig).to.match(/^[A-Za-z0-9_-]{43}$/);
  });

  describe('expiry with an injected clock', () => {
    it('is valid one second before expiry', () => {
      expect(verifyToken(SECRET, token, NOW + 3599)).to.deep.equal(claims);
    });
    it('is expired at the expiry second and after', () => {
      expect(verifyToken(SECRET, token, NOW + 3600)).to.equal('expired');
      expect(verifyToken(SECRET, token, NOW + 10 ** 9)).to.equal('expired');
    });
    it('checks the signature before the expiry (a forged expired token is bad_signature)', () => {
      const forged = token.replace(`.${NOW + 3600}.`, `.${NOW - 1}.`);
      expect(verifyToken(SECRET, forged, NOW)).to.equal('bad_signature');
    });
  });

  describe('forgery', () => {
    it('refuses a token whose user id was changed', () => {
      expect(verifyToken(SECRET, token.replace('.42.', '.43.'), NOW)).to.equal('bad_signature');
    });
    it('refuses a token whose expiry was extended', () => {
      expect(verifyToken(SECRET, token.replace(`.${NOW + 3600}.`, `.${NOW + 99999}.`), NOW)).to.equal('bad_signature');
    });
    it('refuses a token whose session id was changed', () => {
      const other = signToken(SECRET, { ...claims, sessionId: newSessionId() });
      const spliced = `${other.split('.')[0]}.${token.split('.').slice(1).join('.')}`;
      expect(verifyToken(SECRET, spliced, NOW)).to.equal('bad_signature');
    });
    it('refuses a flipped signature character', () => {
      const last = token.at(-2) === 'A' ? 'B' : 'A';
      expect(verifyToken(SECRET, token.slice(0, -2) + last + token.slice(-1), NOW)).to.equal('bad_signature');
    });
    it('refuses a token signed with another secret', () => {
      expect(verifyToken(SECRET, signToken('another-secret-0123456789', claims), NOW)).to.equal('bad_signature');
      expect(verifyToken('another-secret-0123456789', token, NOW)).to.equal('bad_signature');
    });
  });

  describe('malformed tokens', () => {
    const cases: [string, string][] = [
      ['empty', ''],
      ['garbage', 'not-a-token'],
      ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dQ'],
      ['truncated signature', token.slice(0, -1)],
      ['without the signature', token.split('.').slice(0, 3).join('.')],
      ['an extra part', `${token}.x`],
      ['a negative user id', token.replace('.42.', '.-42.')],
      ['a short session id', `abc.42.${NOW + 3600}.${token.split('.')[3]}`],
      ['whitespace around it', ` ${token} `],
      ['a newline after it', `${token}\n`],
    ];
    for (const [name, t] of cases) {
      it(name, () => {
        expect(verifyToken(SECRET, t, NOW)).to.equal('malformed');
      });
    }
  });

  it('makes distinct, URL-safe session ids that fit the token shape', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newSessionId()));
    expect(ids.size).to.equal(100);
    for (const id of ids) expect(id).to.match(/^[A-Za-z0-9_-]{24}$/);
  });
});
