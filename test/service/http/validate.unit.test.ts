import { expect } from 'chai';
import { statusOf } from '../../../service/http/middleware.js';
import { AppError } from '../../../service/errors.js';
import { cursorPattern, encodeCursor } from '../../../service/cursor.js';
import * as v from '../../../service/http/validate.js';

/** Runs `fn` and returns the AppError it throws (fails the test when it returns). */
function failure(fn: () => unknown): AppError {
  expect(fn).to.throw(AppError);
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('unreachable');
}

function expectInvalid(fn: () => unknown, field: string): void {
  const err = failure(fn);
  expect(statusOf(err.code)).to.equal(400);
  expect(err.code).to.equal('validation_failed');
  expect(err.field).to.equal(field);
  expect(err.message).to.match(new RegExp(`^${field}: `));
}

describe('request validation', () => {
  describe('objectBody', () => {
    it('returns an object with only allowed keys', () => {
      expect(v.objectBody({ a: 1 }, ['a', 'b'])).to.deep.equal({ a: 1 });
      expect(v.objectBody({}, ['a'])).to.deep.equal({});
    });
    for (const [name, body] of [['null', null], ['an array', [1]], ['a string', 'x'], ['a number', 3], ['undefined', undefined]] as const) {
      it(`refuses ${name} as body`, () => expectInvalid(() => v.objectBody(body, ['a']), 'body'));
    }
    it('names an unknown field and lists the allowed ones', () => {
      const err = failure(() => v.objectBody({ a: 1, isAdmin: true }, ['a', 'b']));
      expect(err.field).to.equal('isAdmin');
      expect(err.message).to.equal('isAdmin: unknown field (allowed: a, b)');
    });
    it('refuses a JSON __proto__ key as an unknown field', () => {
      expectInvalid(() => v.objectBody(JSON.parse('{"__proto__": {"x": 1}}'), ['a']), '__proto__');
    });
  });

  describe('username', () => {
    for (const ok of ['abc', 'alice_99', 'a'.repeat(30), '___', '007']) {
      it(`accepts ${JSON.stringify(ok)}`, () => expect(v.username(ok)).to.equal(ok));
    }
    for (const bad of ['ab', 'a'.repeat(31), 'Alice', 'al ice', 'alice!', 'al.ice', 'ålice', '', 'alice\n', "a'; DROP TABLE users;--", 42, null, undefined, ['alice']]) {
      it(`refuses ${JSON.stringify(bad)}`, () => expectInvalid(() => v.username(bad), 'username'));
    }
    it('names the field it was given', () => expectInvalid(() => v.username('X', 'followee'), 'followee'));
  });

  describe('password', () => {
    it('accepts 8 to 200 characters', () => {
      expect(v.password('12345678')).to.equal('12345678');
      expect(v.password('p'.repeat(200))).to.equal('p'.repeat(200));
      expect(v.password('  spaces kept  ')).to.equal('  spaces kept  ');
    });
    for (const bad of ['1234567', 'p'.repeat(201), 12345678, null]) {
      it(`refuses ${JSON.stringify(bad)?.slice(0, 20)}`, () => expectInvalid(() => v.password(bad), 'password'));
    }
  });

  describe('text (captions, bios, display names)', () => {
    it('trims and keeps quotes and SQL metacharacters literally', () => {
      expect(v.text("  it's \"fine\"; -- ok  ", 'caption', { max: 2000 })).to.equal('it\'s "fine"; -- ok');
    });
    it('allows the empty caption when min is 0', () => expect(v.text('   ', 'caption', { max: 10 })).to.equal(''));
    it('counts the value as sent (as the OpenAPI maxLength does), in code points, and refuses a blank one when min > 0', () => {
      expectInvalid(() => v.text('  ', 'displayName', { min: 1, max: 50 }), 'displayName');
      expectInvalid(() => v.text('\u3000\ufeff', 'displayName', { min: 1, max: 50 }), 'displayName');
      expectInvalid(() => v.text('x'.repeat(51), 'displayName', { min: 1, max: 50 }), 'displayName');
      expectInvalid(() => v.text(` ${'x'.repeat(50)}`, 'displayName', { min: 1, max: 50 }), 'displayName');
      expect(v.text(` ${'x'.repeat(48)} `, 'displayName', { min: 1, max: 50 })).to.have.length(48);
      // 50 emoji are 100 UTF-16 units but 50 characters.
      expect(v.text('\u{1f600}'.repeat(50), 'displayName', { min: 1, max: 50 })).to.have.length(100);
      expectInvalid(() => v.text('\u{1f600}'.repeat(51), 'displayName', { min: 1, max: 50 }), 'displayName');
    });
    it('accepts exactly the strings the OpenAPI pattern admits', () => {
      const samples = ['a', ' a ', '  ', '\u00a0', '\u2028x', 'x\n', '\n', 'a\tb', 'a\u007f', '\ufeff', '\u3000z', 'é', '\u{1f600}', 'line\nline', ''];
      for (const multiline of [false, true]) {
        for (const min of [0, 1]) {
          const re = new RegExp(v.textPattern({ multiline, nonBlank: min > 0 }));
          for (const sample of samples) {
            let accepted = true;
            try {
              v.text(sample, 'f', { min, max: 10, multiline });
            } catch {
              accepted = false;
            }
            expect(accepted, `${JSON.stringify(sample)} multiline=${multiline} min=${min}`).to.equal(re.test(sample) && sample.length >= min);
          }
        }
      }
    });
    it('allows newlines only when multiline', () => {
      expect(v.text('line 1\nline 2', 'caption', { max: 100, multiline: true })).to.equal('line 1\nline 2');
      expectInvalid(() => v.text('line 1\nline 2', 'displayName', { max: 100 }), 'displayName');
    });
    for (const ch of ['\u0000', '\u0007', '\u001b', '\u007f']) {
      it(`refuses control character U+${ch.charCodeAt(0).toString(16).padStart(4, '0')} even when multiline`, () => {
        expectInvalid(() => v.text(`a${ch}b`, 'caption', { max: 100, multiline: true }), 'caption');
      });
    }
    it('refuses non-strings', () => {
      expectInvalid(() => v.text(5, 'bio', { max: 300 }), 'bio');
      expectInvalid(() => v.text({ toString: () => 'x' }, 'bio', { max: 300 }), 'bio');
    });
  });

  describe('id', () => {
    it('accepts positive integers as path parameters', () => {
      expect(v.id('1')).to.equal(1);
      expect(v.id(String(Number.MAX_SAFE_INTEGER))).to.equal(Number.MAX_SAFE_INTEGER);
    });
    for (const bad of ['0', '-1', '01', '1.5', '1e3', ' 1', '0x10', '9007199254740992', '12345678901234567', '', 1]) {
      it(`refuses ${JSON.stringify(bad)}`, () => expectInvalid(() => v.id(bad, 'photoId'), 'photoId'));
    }
  });

  describe('integer', () => {
    it('accepts integers in range', () => expect(v.integer(5, 'size', 1, 10)).to.equal(5));
    for (const bad of [0, 11, 1.5, '5', NaN, Infinity, null]) {
      it(`refuses ${String(bad)}`, () => expectInvalid(() => v.integer(bad, 'size', 1, 10), 'size'));
    }
  });

  describe('uploadId', () => {
    it('accepts 22 base64url characters', () => expect(v.uploadId('abcdefghijklmnopqrstu_')).to.equal('abcdefghijklmnopqrstu_'));
    for (const bad of ['short', 'abcdefghijklmnopqrstu_x', '../../../../etc/passwd', 'abcdefghijklmnopqrst/_', 22]) {
      it(`refuses ${JSON.stringify(bad)}`, () => expectInvalid(() => v.uploadId(bad), 'uploadId'));
    }
  });

  describe('limit', () => {
    it('defaults to 20', () => expect(v.limit(undefined)).to.equal(20));
    it('accepts 1 to 100', () => {
      expect(v.limit('1')).to.equal(1);
      expect(v.limit('100')).to.equal(100);
    });
    for (const bad of ['0', '101', '1000', '-1', '5.0', 'ten', '', ['5', '6']]) {
      it(`refuses ${JSON.stringify(bad)}`, () => expectInvalid(() => v.limit(bad), 'limit'));
    }
  });

  describe('cursor', () => {
    it('starts at the first page without a cursor', () => {
      expect(v.cursor(undefined)).to.equal(null);
      expect(v.cursor('')).to.equal(null);
    });
    it('round-trips ids through encodeCursor', () => {
      for (const id of [1, 42, 1_000_000, 999_999_999_999_999]) expect(v.cursor(encodeCursor(id))).to.equal(id);
    });
    it('matches the pattern the OpenAPI document states', () => {
      for (const id of [1, 42, 999_999_999_999_999]) expect(encodeCursor(id)).to.match(new RegExp(cursorPattern));
    });
    const bad: [string, unknown][] = [
      ['a number', 10],
      ['an array (?cursor=a&cursor=b)', [encodeCursor(1), encodeCursor(2)]],
      ['a bare id', '10'],
      ['another prefix', 'u10'],
      ['id zero', 'p0'],
      ['a leading zero', 'p010'],
      ['a negative id', 'p-1'],
      ['trailing data', 'p10;DROP'],
      ['a trailing newline', 'p10\n'],
      ['an id of 16 digits', 'p1000000000000000'],
      ['the old base64url form', Buffer.from('p:10').toString('base64url')],
    ];
    for (const [name, c] of bad) {
      it(`refuses ${name}`, () => expectInvalid(() => v.cursor(c), 'cursor'));
    }
  });
});
