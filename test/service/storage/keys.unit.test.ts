import path from 'node:path';
import { expect } from 'chai';
import { AppError } from '../../../service/errors.js';
import { assertKey, isValidKey, objectKey } from '../../../service/storage/keys.js';
import { resolveKeyPath } from '../../../service/storage/volume.storage.js';

const ID = 'AbCdEfGhIjKlMnOpQrSt_-';

describe('object keys', () => {
  it('builds photos/<id>.<ext> for every accepted extension', () => {
    for (const ext of ['jpg', 'png', 'gif', 'webp']) expect(objectKey(ID, ext)).to.equal(`photos/${ID}.${ext}`);
  });

  it('refuses to build a key from a bad id or extension', () => {
    expect(() => objectKey('../../etc', 'jpg')).to.throw(AppError);
    expect(() => objectKey(ID, 'html')).to.throw(AppError);
    expect(() => objectKey(ID, 'svg')).to.throw(AppError);
  });

  const bad: [string, string][] = [
    ['parent traversal', `photos/../${ID}.jpg`],
    ['traversal out of the root', '../../../etc/passwd'],
    ['traversal with a valid-looking tail', `../photos/${ID}.jpg`],
    ['backslash traversal', `photos\\..\\..\\${ID}.jpg`],
    ['an absolute path', `/photos/${ID}.jpg`],
    ['an absolute system path', '/etc/passwd'],
    ['a Windows drive path', `C:\\photos\\${ID}.jpg`],
    ['URL-encoded traversal', `photos/%2e%2e%2f${ID.slice(0, 13)}.jpg`],
    ['URL-encoded slash', `photos%2F${ID}.jpg`],
    ['a NUL byte', `photos/${ID}.jpg\0.html`],
    ['a NUL byte inside the id', `photos/${ID.slice(0, 21)}\0.jpg`],
    ['a trailing newline', `photos/${ID}.jpg\n`],
    ['a double extension', `photos/${ID}.jpg.html`],
    ['an HTML extension', `photos/${ID}.html`],
    ['upper-case extension', `photos/${ID}.JPG`],
    ['another directory', `avatars/${ID}.jpg`],
    ['a nested directory', `photos/x/${ID}.jpg`],
    ['a short id', 'photos/abc.jpg'],
    ['a long id', `photos/${ID}x.jpg`],
    ['empty', ''],
    ['a unicode look-alike dot', `photos/${ID}\u2024jpg`],
  ];

  for (const [name, key] of bad) {
    it(`refuses ${name}`, () => {
      expect(isValidKey(key)).to.equal(false);
      expect(() => assertKey(key))
        .to.throw(AppError)
        .that.includes({ code: 'invalid_object_key', field: 'key' });
    });
  }

  it('accepts exactly the generated shape', () => {
    expect(assertKey(`photos/${ID}.webp`)).to.equal(`photos/${ID}.webp`);
  });

  describe('resolveKeyPath (volume storage)', () => {
    const root = path.join(path.sep, 'srv', 'images');
    it('resolves a valid key inside the root', () => {
      expect(resolveKeyPath(root, `photos/${ID}.png`)).to.equal(path.join(root, 'photos', `${ID}.png`));
      expect(resolveKeyPath(`${root}/`, `photos/${ID}.png`)).to.equal(path.join(root, 'photos', `${ID}.png`));
    });
    for (const [name, key] of bad) {
      it(`refuses ${name}`, () => expect(() => resolveKeyPath(root, key)).to.throw(AppError, 'key:'));
    }
  });
});
