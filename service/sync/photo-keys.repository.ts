// The object keys of photos, as sync-images needs them: all of them, and whether one is still there.
import type { Queryable } from '../db/database.js';

/** Every photo's object key, oldest photo first. */
export async function listPhotoKeys(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ object_key: string }>('SELECT object_key FROM photos ORDER BY id');
  return rows.map((r) => r.object_key);
}

/** True while a photo row still points at `key` (it may have been deleted since the listing). */
export async function photoKeyExists(q: Queryable, key: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM photos WHERE object_key = $1', [key]);
  return rows.length > 0;
}
