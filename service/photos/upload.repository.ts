// Pending uploads in Postgres: an id, its owner, the object key and what the client declared.
import type { Queryable } from '../db/database.js';

/** An upload as stored. */
export interface Upload {
  id: string;
  userId: number;
  key: string;
  contentType: string;
  declaredSize: number;
  consumed: boolean;
}

/** Stores a new upload. */
export async function insertUpload(q: Queryable, u: Omit<Upload, 'consumed'>): Promise<void> {
  await q.query('INSERT INTO uploads (id, user_id, object_key, content_type, declared_size) VALUES ($1, $2, $3, $4, $5)', [u.id, u.userId, u.key, u.contentType, u.declaredSize]);
}

/** The upload `id`, or null. */
export async function findUpload(q: Queryable, id: string): Promise<Upload | null> {
  const { rows } = await q.query<{ id: string; user_id: string; object_key: string; content_type: string; declared_size: number; consumed_at: Date | null }>(
    'SELECT id, user_id, object_key, content_type, declared_size, consumed_at FROM uploads WHERE id = $1',
    [id],
  );
  const r = rows[0];
  return r ? { id: r.id, userId: Number(r.user_id), key: r.object_key, contentType: r.content_type, declaredSize: r.declared_size, consumed: r.consumed_at !== null } : null;
}

/** Marks the upload used by a photo; false when it already was. */
export async function consumeUpload(q: Queryable, id: string): Promise<boolean> {
  const res = await q.query('UPDATE uploads SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL', [id]);
  return res.rowCount === 1;
}
