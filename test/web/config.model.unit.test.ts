import { expect } from 'chai';
import { parseConfig, resolveImageUrl } from '../../service/web/src/config.model.js';

describe('web config model', () => {
  const origin = 'http://web.example:8080';

  it('uses the page origin when apiBaseURL is empty or missing', () => {
    expect(parseConfig({ apiBaseURL: '', cdnBaseURL: '' }, origin)).to.deep.equal({ apiBaseURL: origin, cdnBaseURL: '' });
    expect(parseConfig({}, origin)).to.deep.equal({ apiBaseURL: origin, cdnBaseURL: '' });
  });

  it('trims trailing slashes and resolves relative URLs', () => {
    expect(parseConfig({ apiBaseURL: 'https://api.example/', cdnBaseURL: 'https://cdn.example/photos/' }, origin)).to.deep.equal({
      apiBaseURL: 'https://api.example',
      cdnBaseURL: 'https://cdn.example/photos',
    });
    expect(parseConfig({ apiBaseURL: '/api-proxy', cdnBaseURL: '' }, origin).apiBaseURL).to.equal('http://web.example:8080/api-proxy');
  });

  it('rejects a config that is not an object or has a non-string field, naming the field', () => {
    expect(() => parseConfig(null, origin)).to.throw('config.json: expected a JSON object');
    expect(() => parseConfig({ apiBaseURL: 3 }, origin)).to.throw('config.json: apiBaseURL must be a string');
    expect(() => parseConfig({ cdnBaseURL: 'http://[bad' }, origin)).to.throw(/cdnBaseURL is not a URL/);
  });

  it('keeps absolute image URLs and resolves relative ones under the CDN or the API', () => {
    const withCdn = { apiBaseURL: 'https://api.example', cdnBaseURL: 'https://cdn.example/b' };
    expect(resolveImageUrl('https://cdn.example/b/k.jpg', withCdn)).to.equal('https://cdn.example/b/k.jpg');
    expect(resolveImageUrl('k.jpg', withCdn)).to.equal('https://cdn.example/b/k.jpg');
    expect(resolveImageUrl('/images/k.jpg', { apiBaseURL: 'https://api.example', cdnBaseURL: '' })).to.equal('https://api.example/images/k.jpg');
  });
});
