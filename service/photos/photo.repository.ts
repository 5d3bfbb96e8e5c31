// Photos and likes in Postgres.
import type { Queryable } from '../db/database.js';

/** A photo row joined with its author and like counts. */
export interface PhotoRow {
  id: number;
  key: string;
  caption: string;
  width: number | null;
  height: number | null;
  createdAt: string;
  likes: number;
  likedByMe: boolean;
  author: { id: number; username: string; displayName: string };
}

const SELECT = `SELECT p.id, p.object_key, p.caption, p.width, p.height, p.created_at,
    u.id AS author_id, u.username, u.display_name,
    (SELECT count(*) FROM likes l WHERE l.photo_id = p.id) AS likes,
    EXISTS (SELECT 1 FROM likes l WHERE l.photo_id = p.id AND l.user_id = $1) AS liked_by_me
  FROM photos p JOIN users u ON u.id = p.user_id`;

interface Raw {
  id: string;
  object_key: string;
  caption: string;
  width: number | null;
  height: number | null;
  created_at: Date;
  author_id: string;
  username: string;
  display_name: string;
  likes: string;
  liked_by_me: boolean;
}

function toRow(r: Raw): PhotoRow {
  return {
    id: Number(r.id),
    key: r.object_key,
    caption: r.caption,
    width: r.width,
    height: r.height,
    createdAt: r.created_at.toISOString(),
    likes: Number(r.likes),
    likedByMe: r.liked_by_me,
    author: { id: Number(r.author_id), username: r.username, displayName: r.display_name },
  };
}

/** Inserts a photo and returns its id. */
export async function insertPhoto(q: Queryable, p: { userId: number; key: string; caption: string; contentType: string; size: number; width: number | null; height: number | null }): Promise<number> {
  const { rows } = await q.query<{ id: string }>(
    'INSERT INTO photos (user_id, object_key, caption, content_type, size_bytes, width, height) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
    [p.userId, p.key, p.caption, p.contentType, p.size, p.width, p.height],
  );
  return Number(rows[0]!.id);
}

/** The photo `id` as `viewerId` sees it, or null. */
export async function findPhoto(q: Queryable, id: number, viewerId: number | null): Promise<PhotoRow | null> {
  const { rows } = await q.query<Raw>(`${SELECT} WHERE p.id = $2`, [viewerId ?? 0, id]);
  return rows[0] ? toRow(rows[0]) : null;
}

/** Up to `limit` photos of `userId` with ids below `before`, newest first. */
export async function listByUser(q: Queryable, userId: number, before: number | null, limit: number, viewerId: number | null): Promise<PhotoRow[]> {
  const { rows } = await q.query<Raw>(`${SELECT} WHERE p.user_id = $2 AND ($3::bigint IS NULL OR p.id < $3) ORDER BY p.id DESC LIMIT $4`, [viewerId ?? 0, userId, before, limit]);
  return rows.map(toRow);
}

/** Up to `limit` photos by the people `viewerId` follows and by themselves, ids below `before`, newest first. */
export async function feed(q: Queryable, viewerId: number, before: number | null, limit: number): Promise<PhotoRow[]> {
  const { rows } = await q.query<Raw>(
    `/* feed.read */ ${SELECT}
     WHERE (p.user_id = $1 OR p.user_id IN (SELECT followee_id FROM follows WHERE follower_id = $1))
       AND ($2::bigint IS NULL OR p.id < $2)
     ORDER BY p.id DESC LIMIT $3`,
    [viewerId, before, limit],
  );
  return rows.map(toRow);
}

/** The author and key of photo `id`, or null. */
export async function findOwner(q: Queryable, id: number): Promise<{ userId: number; key: string } | null> {
  const { rows } = await q.query<{ user_id: string; object_key: string }>('SELECT user_id, object_key FROM photos WHERE id = $1', [id]);
  return rows[0] ? { userId: Number(rows[0].user_id), key: rows[0].object_key } : null;
}

/** True when a photo references the object `key` (anything else in storage is a pending upload, never served). */
export async function isPhotoKey(q: Queryable, key: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM photos WHERE object_key = $1', [key]);
  return rows.length > 0;
}

/** Deletes photo `id` if `userId` wrote it; returns whether a row went. */
export async function deletePhoto(q: Queryable, id: number, userId: number): Promise<boolean> {
  const res = await q.query('DELETE FROM photos WHERE id = $1 AND user_id = $2', [id, userId]);
  return res.rowCount === 1;
}

/** Records (or removes) `userId`'s like of photo `photoId`; false when the photo does not exist. */
export async function setLike(q: Queryable, photoId: number, userId: number, on: boolean): Promise<boolean> {
  if (on) {
    const res = await q.query('INSERT INTO likes (photo_id, user_id) SELECT id, $2 FROM photos WHERE id = $1 ON CONFLICT DO NOTHING RETURNING 1', [photoId, userId]);
    if (res.rowCount === 1) return true;
  } else {
    await q.query('DELETE FROM likes WHERE photo_id = $1 AND user_id = $2', [photoId, userId]);
  }
  const { rows } = await q.query('SELECT 1 FROM photos WHERE id = $1', [photoId]);
  return rows.length > 0;
}
