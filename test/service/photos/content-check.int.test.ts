// The stored content-type hole and whole-body image validation, against a real Postgres and an S3-compatible server
// (s3rver) and a volume.
import { expect } from 'chai';
import { startStack, client, PNG, type Stack } from '../harness.js';

const HTML_WITH_PNG_HEAD = Buffer.concat([PNG.subarray(0, 33), Buffer.from('<html><script>alert(document.cookie)</script></html>')]);
const TRUNCATED_PNG = PNG.subarray(0, PNG.length - 12);

describe('content checks in S3 mode (real Postgres, s3rver)', function () {
  this.timeout(180000);
  let stack: Stack;
  let call: ReturnType<typeof client>;
  let token: string;

  before(async () => {
    stack = await startStack({ replica: false, storage: 's3' });
    call = client(stack.api.url);
    token = (await call('POST', '/api/v1/users', { body: { username: 'ctype', password: 'correct horse' } })).body.token;
  });
  after(async () => stack?.stop());

  /** Creates a slot declared as image/png, PUTs `bytes` with `contentType` to the presigned URL, and tries to make a photo. */
  async function attempt(bytes: Buffer, contentType: string) {
    const up = await call('POST', '/api/v1/uploads', { token, body: { contentType: 'image/png', size: bytes.length } });
    expect(up.status).to.equal(201);
    const put = await fetch(up.body.url, { method: 'PUT', headers: { ...up.body.headers, 'Content-Type': contentType }, body: new Uint8Array(bytes) });
    return { up, put, photo: await call('POST', '/api/v1/photos', { token, body: { uploadId: up.body.uploadId } }) };
  }

  it('signs Content-Type into the presigned PUT', async () => {
    const up = await call('POST', '/api/v1/uploads', { token, body: { contentType: 'image/png', size: PNG.length } });
    expect(new URL(up.body.url).searchParams.get('X-Amz-SignedHeaders')!.split(';')).to.include('content-type');
    expect(up.body.headers).to.deep.equal({ 'Content-Type': 'image/png' });
  });

  it('refuses a PNG-headed HTML body PUT as text/html (the stored type is checked: s3rver does not enforce signed headers)', async () => {
    const { put, photo } = await attempt(HTML_WITH_PNG_HEAD, 'text/html');
    // Real S3 refuses the PUT (403 SignatureDoesNotMatch); s3rver stores it, so the photo creation must refuse it.
    if (put.status < 300) {
      expect(photo.status).to.equal(415);
      expect(photo.body.error.code).to.equal('content_type_mismatch');
    } else {
      expect(put.status).to.equal(403);
    }
  });

  it('refuses a PNG-headed HTML body PUT as image/png (the whole body is validated)', async () => {
    const { photo } = await attempt(HTML_WITH_PNG_HEAD, 'image/png');
    expect(photo.status).to.equal(415);
    expect(photo.body.error.code).to.equal('not_an_image');
  });

  it('refuses a truncated PNG', async () => {
    const { photo } = await attempt(TRUNCATED_PNG, 'image/png');
    expect(photo.status).to.equal(415);
    expect(photo.body.error.code).to.equal('not_an_image');
    expect(photo.body.error.message).to.match(/truncated|IEND/);
  });

  it('makes a photo of a valid PNG and redirects its image to a presigned GET that forces the type', async () => {
    const { photo } = await attempt(PNG, 'image/png');
    expect(photo.status).to.equal(201);
    const key = new URL(photo.body.photo.imageUrl as string, stack.api.url).pathname.replace(/^\/images\//, '');
    const img = await call('GET', `/images/${key}`);
    expect(img.status).to.equal(302);
    const location = new URL(img.headers.get('location')!);
    expect(location.searchParams.get('response-content-type')).to.equal('image/png');
    const bytes = await fetch(location);
    expect(bytes.status).to.equal(200);
    expect(bytes.headers.get('content-type')).to.equal('image/png');
  });
});

describe('content checks in volume mode (real Postgres)', function () {
  this.timeout(180000);
  let stack: Stack;
  let call: ReturnType<typeof client>;
  let token: string;

  before(async () => {
    stack = await startStack({ replica: false, storage: 'volume' });
    call = client(stack.api.url);
    token = (await call('POST', '/api/v1/users', { body: { username: 'ctypev', password: 'correct horse' } })).body.token;
  });
  after(async () => stack?.stop());

  async function put(bytes: Buffer) {
    const up = await call('POST', '/api/v1/uploads', { token, body: { contentType: 'image/png', size: bytes.length } });
    return { up, res: await call('PUT', up.body.url, { token, raw: new Uint8Array(bytes), headers: up.body.headers }) };
  }

  it('refuses a truncated PNG and a PNG-headed HTML body at the PUT', async () => {
    for (const bytes of [TRUNCATED_PNG, HTML_WITH_PNG_HEAD]) {
      const { res } = await put(bytes);
      expect(res.status).to.equal(415);
      expect(res.body.error.code).to.equal('not_an_image');
    }
  });

  it('serves a photo with X-Content-Type-Options: nosniff', async () => {
    const { up, res } = await put(PNG);
    expect(res.status).to.equal(204);
    const photo = await call('POST', '/api/v1/photos', { token, body: { uploadId: up.body.uploadId } });
    const img = await call('GET', new URL(photo.body.photo.imageUrl as string, stack.api.url).pathname);
    expect(img.status).to.equal(200);
    expect(img.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(img.headers.get('content-type')).to.equal('image/png');
  });
});
