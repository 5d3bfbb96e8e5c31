// Image storage in a local directory (a volume); used by the API directly and by origin mode.
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.js';
import { assertKey, contentTypeOfKey } from './keys.js';
import type { ObjectStorage } from './storage.js';


/** Resolves `key` inside `root`, refusing anything that would land outside it. */
export function resolveKeyPath(root: string, key: string): string {
  assertKey(key);
  const base = path.resolve(root);
  const full = path.resolve(base, key);
  if (!full.startsWith(base + path.sep)) throw new AppError('invalid_object_key', 'key: escapes the storage directory', { field: 'key' });
  return full;
}

/** An ObjectStorage on the directory `root`. */
export function volumeStorage(root: string): ObjectStorage {
  return {
    kind: 'volume',
    presignPut: async () => null,
    presignGet: async () => null,
    async put(key, body) {
      const file = resolveKeyPath(root, key);
      try {
        await fsp.mkdir(path.dirname(file), { recursive: true });
        const tmp = `${file}.${crypto.randomBytes(8).toString('hex')}.tmp`;
        await fsp.writeFile(tmp, body);
        await fsp.rename(tmp, file);
      } catch (err) {
        throw new Error(`while writing ${key} to the volume`, { cause: err });
      }
    },
    async putStream(key, body) {
      const file = resolveKeyPath(root, key);
      const tmp = `${file}.${crypto.randomBytes(8).toString('hex')}.tmp`;
      try {
        await fsp.mkdir(path.dirname(file), { recursive: true });
        await pipeline(body, fs.createWriteStream(tmp));
        await fsp.rename(tmp, file);
      } catch (err) {
        await fsp.rm(tmp, { force: true }).catch(() => undefined);
        throw new Error(`while writing ${key} to the volume`, { cause: err });
      }
    },
    async stat(key) {
      const file = resolveKeyPath(root, key);
      try {
        const { size } = await fsp.stat(file);
        return { size, contentType: contentTypeOfKey(key) };
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return null;
        throw new Error(`while reading the size of ${key}`, { cause: err });
      }
    },
    async head(key, bytes) {
      const file = resolveKeyPath(root, key);
      const fh = await fsp.open(file, 'r').catch((err: unknown) => {
        throw new Error(`while opening ${key}`, { cause: err });
      });
      try {
        const buf = Buffer.alloc(bytes);
        const { bytesRead } = await fh.read(buf, 0, bytes, 0);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    async get(key) {
      const file = resolveKeyPath(root, key);
      let size: number;
      try {
        size = (await fsp.stat(file)).size;
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return null;
        throw new Error(`while reading ${key}`, { cause: err });
      }
      return { body: fs.createReadStream(file), size, contentType: contentTypeOfKey(key) };
    },
    async promote(from, to) {
      const src = resolveKeyPath(root, from);
      const dst = resolveKeyPath(root, to);
      try {
        await fsp.mkdir(path.dirname(dst), { recursive: true });
        await fsp.rename(src, dst);
      } catch (err) {
        throw new Error(`while moving ${from} to ${to} on the volume`, { cause: err });
      }
    },
    async delete(key) {
      const file = resolveKeyPath(root, key);
      await fsp.rm(file, { force: true }).catch((err: unknown) => {
        throw new Error(`while deleting ${key}`, { cause: err });
      });
    },
  };
}
