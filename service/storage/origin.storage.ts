// Image storage on a service in origin mode, over HTTP with the shared GRAMINSTA_ORIGIN_TOKEN.
import { Readable } from 'node:stream';
import { assertKey } from './keys.js';
import type { ObjectStorage } from './storage.js';

/** An ObjectStorage that PUTs, HEADs, GETs and DELETEs `<originUrl>/images/<key>`. */
export function originStorage(originUrl: string, token: string, retryMs = 15_000): ObjectStorage {
  const url = (key: string) => `${originUrl}/images/${assertKey(key)}`;
  const auth = { authorization: `Bearer ${token}` };
  // The origin is one pod: while it restarts (a roll, a move of its volume) connections are refused for a few
  // seconds. Requests that can be sent again (no streamed body) are, until retryMs has passed, so a restart
  // shows as latency rather than failed image reads and uploads; every origin request is idempotent.
  const call = async (what: string, key: string, init: RequestInit): Promise<Response> => {
    const target = url(key);
    const replayable = !(init.body instanceof ReadableStream);
    const started = Date.now();
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      try {
        return await fetch(target, { ...init, signal: AbortSignal.timeout(10000) });
      } catch (err) {
        if (!replayable || !unreachable(err) || Date.now() - started + delay > retryMs) throw new Error(`while ${what} ${key} on the origin`, { cause: err });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  const storage: ObjectStorage = {
    kind: 'origin',
    presignPut: async () => null,
    presignGet: async () => null,
    async put(key, body, contentType) {
      const res = await call('writing', key, { method: 'PUT', body: new Uint8Array(body), headers: { ...auth, 'content-type': contentType } });
      if (!res.ok) throw new Error(`while writing ${key} on the origin: HTTP ${res.status} ${await res.text()}`);
    },
    async putStream(key, body, size, contentType) {
      const init = { method: 'PUT', body: Readable.toWeb(body) as ReadableStream, duplex: 'half', headers: { ...auth, 'content-type': contentType, 'content-length': String(size) } };
      const res = await call('writing', key, init as RequestInit);
      if (!res.ok) throw new Error(`while writing ${key} on the origin: HTTP ${res.status} ${await res.text()}`);
    },
    async stat(key) {
      const res = await call('checking', key, { method: 'HEAD', headers: auth });
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`while checking ${key} on the origin: HTTP ${res.status}`);
      return { size: Number(res.headers.get('content-length') ?? 0), contentType: res.headers.get('content-type') ?? 'application/octet-stream' };
    },
    async head(key, bytes) {
      const res = await call('reading', key, { headers: { ...auth, range: `bytes=0-${bytes - 1}` } });
      if (!res.ok) throw new Error(`while reading ${key} on the origin: HTTP ${res.status}`);
      return Buffer.from(await res.arrayBuffer()).subarray(0, bytes);
    },
    async get(key) {
      const res = await call('reading', key, { headers: auth });
      if (res.status === 404) return null;
      if (!res.ok || !res.body) throw new Error(`while reading ${key} on the origin: HTTP ${res.status}`);
      return {
        body: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
        size: Number(res.headers.get('content-length') ?? 0),
        contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      };
    },
    async delete(key) {
      const res = await call('deleting', key, { method: 'DELETE', headers: auth });
      if (!res.ok && res.status !== 404) throw new Error(`while deleting ${key} on the origin: HTTP ${res.status}`);
    },
    async promote(from, to, contentType) {
      // The origin protocol has no move: copy (the body streams through), then delete.
      const obj = await storage.get(from);
      if (!obj) throw new Error(`while moving ${from} to ${to} on the origin: ${from} does not exist`);
      await storage.putStream(to, obj.body, obj.size, contentType);
      await storage.delete(from);
    },
  };
  return storage;
}

/** True when fetch failed because the origin could not be reached (refused, reset, not resolvable), not for a timeout. */
function unreachable(err: unknown): boolean {
  const code = ((err as { cause?: { code?: string } }).cause ?? {}).code;
  return ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET'].includes(code ?? '');
}
