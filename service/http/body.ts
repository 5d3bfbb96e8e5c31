// Raw request bodies (image bytes) read with raw-body, with the refusals turned into the service's error codes.
import type Koa from 'koa';
import getRawBody from 'raw-body';
import { AppError } from '../errors.js';

/** Reads the raw request body, refusing more than `limit` bytes (declared or sent) with upload_too_large. */
export async function readBody(ctx: Koa.Context, limit: number): Promise<Buffer> {
  const declared = ctx.get('content-length');
  try {
    return await getRawBody(ctx.req, { limit, length: /^\d+$/.test(declared) ? Number(declared) : null });
  } catch (err) {
    const e = err as { type?: string; expected?: number; received?: number };
    if (e.type === 'entity.too.large') {
      // The rest of the body is never read: close the connection rather than leave it half-consumed.
      ctx.set('Connection', 'close');
      const message = e.received === undefined ? `content: ${e.expected} bytes is more than the allowed ${limit}` : `content: more than the allowed ${limit} bytes`;
      throw new AppError('upload_too_large', message, { field: 'content' });
    }
    throw new AppError('request_aborted', 'content: the client closed the request before sending all bytes', { field: 'content', cause: err });
  }
}
