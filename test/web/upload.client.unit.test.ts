import { expect } from 'chai';
import { apiUrl } from '../../service/web/src/api.client.js';
import { progressPercent, storageError, uploadRequest } from '../../service/web/src/upload.client.js';

describe('web upload client (pure parts)', () => {
  const api = 'http://127.0.0.1:4000';

  it('sends presigned S3 uploads without the bearer token and without forbidden headers', () => {
    const request = uploadRequest(
      { uploadId: 'u1', method: 'put', url: 'http://127.0.0.1:5000/photos/k?X-Amz-Signature=s', headers: { 'Content-Type': 'image/png', 'Content-Length': '10' } },
      api,
      'tok',
    );
    expect(request).to.deep.equal({ method: 'PUT', url: 'http://127.0.0.1:5000/photos/k?X-Amz-Signature=s', headers: { 'Content-Type': 'image/png' } });
  });

  it('resolves volume-storage uploads on the API and adds the bearer token', () => {
    const request = uploadRequest({ uploadId: 'u1', method: 'PUT', url: '/api/v1/uploads/u1/content', headers: { 'content-type': 'image/jpeg' } }, api, 'tok');
    expect(request.url).to.equal('http://127.0.0.1:4000/api/v1/uploads/u1/content');
    expect(request.headers).to.deep.equal({ 'content-type': 'image/jpeg', Authorization: 'Bearer tok' });
  });

  it('keeps an Authorization header the API chose', () => {
    const request = uploadRequest({ uploadId: 'u1', method: 'PUT', url: '/x', headers: { authorization: 'Upload abc' } }, api, 'tok');
    expect(request.headers).to.deep.equal({ authorization: 'Upload abc' });
  });

  it('computes whole, clamped percentages', () => {
    expect(progressPercent(0, 0)).to.equal(0);
    expect(progressPercent(1, 3)).to.equal(33);
    expect(progressPercent(3, 3)).to.equal(100);
    expect(progressPercent(5, 3)).to.equal(100);
  });

  it('reads S3 XML errors and API JSON errors from storage answers', () => {
    expect(storageError(403, '<Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>')).to.include({
      code: 'storage_SignatureDoesNotMatch',
      status: 403,
    });
    expect(storageError(413, '{"error":{"code":"too_large","message":"image is larger than 10 MB"}}')).to.include({
      code: 'too_large',
      message: 'image is larger than 10 MB',
    });
    expect(storageError(500, '')).to.include({ code: 'storage_failed' });
  });

  it('builds API URLs with only the query values that are set', () => {
    expect(apiUrl('http://a.example/', 'feed', { limit: 10, cursor: null })).to.equal('http://a.example/api/v1/feed?limit=10');
    expect(apiUrl('http://a.example', '/users/a%20b/photos', { cursor: 'x y' })).to.equal('http://a.example/api/v1/users/a%20b/photos?cursor=x+y');
  });
});
