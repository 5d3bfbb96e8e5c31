import { expect } from 'chai';
import {
  checkCaption,
  checkDisplayName,
  checkImageFile,
  checkNewPassword,
  checkRequired,
  checkUsername,
  maxCaptionLength,
} from '../../service/web/src/validation.model.js';

describe('web validation model', () => {
  it('accepts usernames of 3-30 characters of a-z, 0-9 and _', () => {
    expect(checkUsername('abc')).to.equal(null);
    expect(checkUsername('a_1'.padEnd(30, 'x'))).to.equal(null);
    expect(checkUsername('')).to.match(/Choose a username/);
    expect(checkUsername('ab')).to.match(/3 to 30/);
    expect(checkUsername('a'.repeat(31))).to.match(/3 to 30/);
    expect(checkUsername('Alice')).to.match(/lowercase/);
    expect(checkUsername('al ice')).to.match(/lowercase/);
  });

  it('asks for passwords of at least 8 characters', () => {
    expect(checkNewPassword('')).to.match(/Choose a password/);
    expect(checkNewPassword('short')).to.match(/at least 8/);
    expect(checkNewPassword('long enough')).to.equal(null);
    // Counted as the API counts: four emoji are four characters, though eight UTF-16 units.
    expect(checkNewPassword('\u{1f600}'.repeat(4))).to.match(/at least 8/);
    expect(checkRequired('', 'password')).to.equal('Enter your password.');
    expect(checkRequired('x', 'password')).to.equal(null);
  });

  it('limits display names and captions', () => {
    expect(checkDisplayName('Alice')).to.equal(null);
    expect(checkDisplayName('x'.repeat(51))).to.match(/50/);
    expect(checkCaption('x'.repeat(maxCaptionLength))).to.equal(null);
    expect(checkCaption('x'.repeat(maxCaptionLength + 1))).to.match(/at most/);
  });

  it('lets through supported images and names the file when rejecting one', () => {
    expect(checkImageFile({ name: 'a.jpg', type: 'image/jpeg', size: 1000 })).to.equal(null);
    expect(checkImageFile({ name: 'a.webp', type: 'image/webp', size: 1000 })).to.equal(null);
    expect(checkImageFile({ name: 'notes.txt', type: 'text/plain', size: 10 })).to.equal('notes.txt is not a JPEG, PNG, WebP or GIF image.');
    expect(checkImageFile({ name: 'a.svg', type: 'image/svg+xml', size: 10 })).to.match(/not a JPEG/);
    expect(checkImageFile({ name: 'empty.png', type: 'image/png', size: 0 })).to.equal('empty.png is empty.');
    expect(checkImageFile({ name: 'big.png', type: 'image/png', size: 11 * 1024 * 1024 })).to.equal('big.png is 11 MB; the limit is 10 MB.');
    expect(checkImageFile({ name: 'b.png', type: 'image/png', size: 2048 }, 1024)).to.equal('b.png is 2 KB; the limit is 1 KB.');
  });
});
