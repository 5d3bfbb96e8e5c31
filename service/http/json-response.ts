// JSON responses serialized once per immutable value: a near-cached profile is the same frozen object on every hit,
// so its bytes and ETag are computed once and written as they are, without JSON.stringify per request.
import crypto from 'node:crypto';
import type Koa from 'koa';

/** The Content-Type of every JSON response. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** The bytes of a JSON response and their strong ETag. */
export interface Serialized {
  body: Buffer;
  etag: string;
}

/**
 * The serialized form of `wrap(value)`. Frozen values are serialized once and kept for as long as the value itself
 * lives (a WeakMap); others every time. Koa's responder and the fast read path share one, so both send the same bytes.
 */
export function jsonSerializer<T extends object>(wrap: (value: T) => unknown): (value: T) => Serialized {
  const memo = new WeakMap<T, Serialized>();
  return (value) => {
    let s = memo.get(value);
    if (!s) {
      const body = Buffer.from(JSON.stringify(wrap(value)));
      s = { body, etag: `"${crypto.createHash('sha1').update(body).digest('base64url')}"` };
      if (Object.isFrozen(value)) memo.set(value, s);
    }
    return s;
  };
}

/** A responder that answers 200 with the serialized value and its ETag (304 when If-None-Match matches it). */
export function jsonResponder<T extends object>(serialize: (value: T) => Serialized): (ctx: Koa.Context, value: T) => void {
  return (ctx, value) => {
    const s = serialize(value);
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
