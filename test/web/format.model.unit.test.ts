import { expect } from 'chai';
import { avatarHue, byteSize, compactCount, countOf, timeAgo } from '../../service/web/src/format.model.js';

describe('web format model', () => {
  const now = new Date('2025-06-01T12:00:00Z');

  it('says how long ago something happened', () => {
    expect(timeAgo('2025-06-01T11:59:50Z', now)).to.equal('just now');
    expect(timeAgo('2025-06-01T11:55:00Z', now)).to.equal('5 minutes ago');
    expect(timeAgo('2025-06-01T09:00:00Z', now)).to.equal('3 hours ago');
    expect(timeAgo('2025-05-31T12:00:00Z', now)).to.equal('yesterday');
    expect(timeAgo('2025-05-18T12:00:00Z', now)).to.equal('2 weeks ago');
    expect(timeAgo('2024-05-01T12:00:00Z', now)).to.equal('last year');
    expect(timeAgo('not a date', now)).to.equal('');
  });

  it('writes counts the way people read them', () => {
    expect(compactCount(999)).to.equal('999');
    expect(compactCount(1234)).to.equal('1.2K');
    expect(compactCount(5_600_000)).to.equal('5.6M');
    expect(countOf(0, 'like')).to.equal('0 likes');
    expect(countOf(1, 'like')).to.equal('1 like');
    expect(countOf(2500, 'follower')).to.equal('2.5K followers');
  });

  it('formats byte sizes', () => {
    expect(byteSize(512)).to.equal('512 B');
    expect(byteSize(1536)).to.equal('1.5 KB');
    expect(byteSize(3 * 1024 * 1024)).to.equal('3 MB');
  });

  it('picks the same avatar hue for the same username', () => {
    expect(avatarHue('alice')).to.equal(avatarHue('alice'));
    expect(avatarHue('alice')).to.be.within(0, 359);
    expect(avatarHue('alice')).to.not.equal(avatarHue('bob'));
  });
});
