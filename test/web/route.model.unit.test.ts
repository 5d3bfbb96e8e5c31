import { expect } from 'chai';
import { needsSession, parseRoute, routeHref, safeNext, type Route } from '../../service/web/src/route.model.js';

describe('web route model', () => {
  it('reads the known hash routes', () => {
    expect(parseRoute('')).to.deep.equal({ name: 'feed' });
    expect(parseRoute('#/')).to.deep.equal({ name: 'feed' });
    expect(parseRoute('#/login')).to.deep.equal({ name: 'login' });
    expect(parseRoute('#/login?next=%23%2Fupload')).to.deep.equal({ name: 'login', next: '#/upload' });
    expect(parseRoute('#/signup')).to.deep.equal({ name: 'signup' });
    expect(parseRoute('#/upload')).to.deep.equal({ name: 'upload' });
    expect(parseRoute('#/u/alice_1')).to.deep.equal({ name: 'profile', username: 'alice_1' });
    expect(parseRoute('#/p/42')).to.deep.equal({ name: 'photo', id: '42' });
  });

  it('answers notFound for anything else, including malformed escapes', () => {
    expect(parseRoute('#/nope')).to.deep.equal({ name: 'notFound', path: '/nope' });
    expect(parseRoute('#/u/a/b')).to.deep.equal({ name: 'notFound', path: '/u/a/b' });
    expect(parseRoute('#/u/%E0%A4%A')).to.deep.equal({ name: 'profile', username: '%E0%A4%A' });
  });

  it('writes hrefs that parse back to the same route', () => {
    const routes: Route[] = [
      { name: 'feed' },
      { name: 'login' },
      { name: 'login', next: '#/u/bob' },
      { name: 'signup', next: '#/upload' },
      { name: 'upload' },
      { name: 'profile', username: 'bob' },
      { name: 'photo', id: 'a b/c' },
    ];
    for (const route of routes) expect(parseRoute(routeHref(route))).to.deep.equal(route);
  });

  it('requires a session for the feed and upload only', () => {
    expect(needsSession({ name: 'feed' })).to.equal(true);
    expect(needsSession({ name: 'upload' })).to.equal(true);
    expect(needsSession({ name: 'profile', username: 'x' })).to.equal(false);
    expect(needsSession({ name: 'login' })).to.equal(false);
  });

  it('keeps post-login targets inside the app', () => {
    expect(safeNext('#/u/bob')).to.equal('#/u/bob');
    expect(safeNext(undefined)).to.equal('#/');
    expect(safeNext('https://evil.example/')).to.equal('#/');
    expect(safeNext('#//evil.example')).to.equal('#/');
    expect(safeNext('#/login')).to.equal('#/');
    expect(safeNext('#/nowhere')).to.equal('#/');
  });
});
