// JSON responses serialized once per immutable value: a near-cached profile is the same frozen object on every hit,
// so its bytes and ETag are computed once and written as they are, without JSON.stringify per request.
import crypto from 'node:crypto';
import type Koa from 'koa';

const JSON_TYPE = 'application/json; charset=utf-8';

/** The bytes of a JSON response and their strong ETag. */
interface Serialized {
  body: Buffer;
  etag: string;
}

/**
 * A responder that answers 200 with `wrap(value)` as JSON and an ETag (304 when If-None-Match matches it).
 * Frozen values are serialized once and kept for as long as the value itself lives (a WeakMap); others every time.
 */
export function jsonResponder<T extends object>(wrap: (value: T) => unknown): (ctx: Koa.Context, value: T) => void {
  const memo = new WeakMap<T, Serialized>();
  return (ctx, value) => {
    let s = memo.get(value);
    if (!s) {
      const body = Buffer.from(JSON.stringify(wrap(value)));
      s = { body, etag: `"${crypto.createHash('sha1').update(body).digest('base64url')}"` };
      if (Object.isFrozen(value)) memo.set(value, s);
    }
    ctx.status = 200;
    ctx.set('ETag', s.etag);
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    // The header first: given a Buffer without one, Koa would look its type up as application/octet-stream.
    ctx.set('Content-Type', JSON_TYPE);
    ctx.body = s.body;
  };
}
