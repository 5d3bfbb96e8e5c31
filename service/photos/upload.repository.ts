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
  /** Not consumed and older than the TTL the caller passed (by the database's clock). */
  expired: boolean;
}

/** Stores a new upload. */
export async function insertUpload(q: Queryable, u: Omit<Upload, 'consumed' | 'expired'>): Promise<void> {
  await q.query('INSERT INTO uploads (id, user_id, object_key, content_type, declared_size) VALUES ($1, $2, $3, $4, $5)', [u.id, u.userId, u.key, u.contentType, u.declaredSize]);
}

/** The upload `id`, or null; `expired` when it is still open after `ttlSeconds`. */
export async function findUpload(q: Queryable, id: string, ttlSeconds: number): Promise<Upload | null> {
  const { rows } = await q.query<{ id: string; user_id: string; object_key: string; content_type: string; declared_size: number; consumed_at: Date | null; expired: boolean }>(
    'SELECT id, user_id, object_key, content_type, declared_size, consumed_at, (consumed_at IS NULL AND created_at < now() - make_interval(secs => $2)) AS expired FROM uploads WHERE id = $1',
    [id, ttlSeconds],
  );
  const r = rows[0];
  return r ? { id: r.id, userId: Number(r.user_id), key: r.object_key, contentType: r.content_type, declaredSize: r.declared_size, consumed: r.consumed_at !== null, expired: r.expired } : null;
}

/** Marks the upload used by a photo; false when it already was or has expired (the sweeper may be deleting it). */
export async function consumeUpload(q: Queryable, id: string, ttlSeconds: number): Promise<boolean> {
  const res = await q.query('UPDATE uploads SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL AND created_at >= now() - make_interval(secs => $2)', [id, ttlSeconds]);
  return res.rowCount === 1;
}

/** Serialises upload creation for one account (locks its user row until the transaction ends). */
export async function lockOwner(q: Queryable, userId: number): Promise<void> {
  await q.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
}

/** How many of `userId`'s uploads are open: not a photo yet and younger than `ttlSeconds`. */
export async function countOpenUploads(q: Queryable, userId: number, ttlSeconds: number): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM uploads WHERE user_id = $1 AND consumed_at IS NULL AND created_at >= now() - make_interval(secs => $2)', [userId, ttlSeconds]);
  return rows[0]!.n;
}

/** Up to `limit` expired uploads, locked for this transaction; rows another transaction holds are skipped (one sweeper per row across pods). */
export async function lockExpiredUploads(q: Queryable, ttlSeconds: number, limit: number): Promise<{ id: string; key: string }[]> {
  const { rows } = await q.query<{ id: string; object_key: string }>(
    'SELECT id, object_key FROM uploads WHERE consumed_at IS NULL AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED',
    [ttlSeconds, limit],
  );
  return rows.map((r) => ({ id: r.id, key: r.object_key }));
}

/** Deletes the upload rows `ids`. */
export async function deleteUploads(q: Queryable, ids: string[]): Promise<void> {
  if (ids.length > 0) await q.query('DELETE FROM uploads WHERE id = ANY($1::text[])', [ids]);
}
