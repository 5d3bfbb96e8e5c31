// sync-images: copies every photo's image from a source store to the target store, idempotently, a few at a time.
import type { Logger } from '../log.js';
import { objectSize, type ObjectStorage } from '../storage/storage.js';

/** What a sync needs: where keys come from, the two stores. */
export interface ImageSyncDeps {
  /** Every key a photo row points at. */
  listKeys: () => Promise<string[]>;
  /** Whether a photo row still points at `key` (asked only for keys found in neither store). */
  stillListed: (key: string) => Promise<boolean>;
  source: ObjectStorage;
  target: ObjectStorage;
  log: Logger;
  /** Copies at once (default 8). */
  concurrency?: number;
}

/** What a sync did; `missingKeys` are the photos whose bytes are in neither store. */
export interface ImageSyncResult {
  listed: number;
  copied: number;
  alreadyThere: number;
  missing: number;
  missingKeys: string[];
}

/** Copies each listed key the target lacks (or holds with another size) from the source, verifying the size written. */
export async function syncImages(deps: ImageSyncDeps): Promise<ImageSyncResult> {
  const keys = await deps.listKeys();
  const result: ImageSyncResult = { listed: keys.length, copied: 0, alreadyThere: 0, missing: 0, missingKeys: [] };
  const missing = async (key: string) => {
    // The photo may have been deleted (row and bytes) since the listing; only a row that is still there is a loss.
    if (!(await deps.stillListed(key))) return;
    result.missing++;
    result.missingKeys.push(key);
  };
  const one = async (key: string) => {
    const [inTarget, inSource] = await Promise.all([objectSize(deps.target, key), objectSize(deps.source, key)]);
    if (inTarget !== null && (inSource === null || inTarget === inSource)) {
      result.alreadyThere++;
      return;
    }
    if (inSource === null) return await missing(key);
    const obj = await deps.source.get(key);
    if (!obj) return await missing(key);
    try {
      await deps.target.putStream(key, obj.body, obj.size, obj.contentType);
    } finally {
      obj.body.destroy();
    }
    const written = await objectSize(deps.target, key);
    if (written !== obj.size) throw new Error(`while copying ${key}: the target holds ${written ?? 'nothing'} bytes, the source ${obj.size}`);
    result.copied++;
    deps.log.debug('copied image', { key, size: obj.size });
  };
  let next = 0;
  const worker = async () => {
    while (next < keys.length) await one(keys[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency ?? 8, keys.length) }, worker));
  return result;
}
