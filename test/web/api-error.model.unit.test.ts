import { expect } from 'chai';
import { ApiError, describeError, networkError, parseApiError, stripFieldPrefix } from '../../service/web/src/api-error.model.js';

describe('web api error model', () => {
  it('reads the API error body', () => {
    const error = parseApiError(400, {
      error: { code: 'validation_failed', message: 'username: must be 3-30 characters of a-z, 0-9, _', field: 'username', requestId: 'r1' },
    });
    expect(error).to.be.instanceOf(ApiError);
    expect(error).to.include({ status: 400, code: 'validation_failed', field: 'username', requestId: 'r1' });
    expect(describeError(error)).to.equal('Must be 3-30 characters of a-z, 0-9, _');
  });

  it('makes up a code and message when the body is not an API error', () => {
    expect(parseApiError(404, 'Not Found')).to.include({ code: 'not_found', message: 'That could not be found.' });
    expect(parseApiError(502, undefined)).to.include({ code: 'internal' });
    expect(parseApiError(418, { error: {} })).to.include({ code: 'http_418', message: 'The server answered with status 418.' });
  });

  it('never shows server-side failure details, only a reference', () => {
    const error = parseApiError(500, { error: { code: 'internal', message: 'relation "users" does not exist', requestId: 'abc' } });
    expect(describeError(error)).to.equal('Something went wrong on our side (reference abc). Please try again in a moment.');
  });

  it('tells people when the session is over or the network is down', () => {
    expect(describeError(parseApiError(401, { error: { code: 'unauthorized', message: 'token expired' } }))).to.match(/log in again/);
    expect(describeError(parseApiError(401, { error: { code: 'invalid_credentials', message: 'wrong username or password' } }))).to.equal(
      'wrong username or password',
    );
    const offline = networkError(new TypeError('Failed to fetch'));
    expect(offline.cause).to.be.instanceOf(TypeError);
    expect(describeError(offline)).to.match(/Can't reach Graminsta/);
    expect(describeError(new Error('x'))).to.match(/unexpected/);
  });

  it('explains a photo the server finds too large without its byte counts', () => {
    const error = parseApiError(413, { error: { code: 'upload_too_large', message: 'size: 3055835 bytes is more than the limit of 2097152', field: 'size' } });
    expect(describeError(error)).to.equal('The photo is larger than the server accepts. Try a smaller or more compressed image.');
    // the upload slot refuses a declared size over the limit as bad input on `size`
    const declared = parseApiError(400, { error: { code: 'validation_failed', message: 'size: 3055835 bytes is more than the limit of 2097152', field: 'size' } });
    expect(describeError(declared)).to.equal('The photo is larger than the server accepts. Try a smaller or more compressed image.');
    const other = parseApiError(400, { error: { code: 'validation_failed', message: 'caption: is too long', field: 'caption' } });
    expect(describeError(other)).to.equal('Is too long');
  });

  it('strips the field prefix only when present', () => {
    expect(stripFieldPrefix('caption: too long', 'caption')).to.equal('Too long');
    expect(stripFieldPrefix('too long', 'caption')).to.equal('Too long');
  });
});
