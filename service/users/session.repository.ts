// Login sessions in Postgres; a token is valid only while its session row is not revoked.
import type { Queryable } from '../db/database.js';

/** A session as stored. */
export interface Session {
  id: string;
  userId: number;
  expiresAt: Date;
  revokedAt: Date | null;
}

/** Stores a new session. */
export async function insertSession(q: Queryable, s: { id: string; userId: number; expiresAt: Date }): Promise<void> {
  await q.query('INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)', [s.id, s.userId, s.expiresAt]);
}

/** The session `id`, or null. */
export async function findSession(q: Queryable, id: string): Promise<Session | null> {
  const { rows } = await q.query<{ id: string; user_id: string; expires_at: Date; revoked_at: Date | null }>('SELECT id, user_id, expires_at, revoked_at FROM sessions WHERE id = $1', [id]);
  const r = rows[0];
  return r ? { id: r.id, userId: Number(r.user_id), expiresAt: r.expires_at, revokedAt: r.revoked_at } : null;
}

/** Marks the session revoked. */
export async function revokeSession(q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
}

/** Deletes up to `limit` sessions past their expiry (their tokens are refused as expired anyway); returns how many. */
export async function deleteExpiredSessions(q: Queryable, limit: number): Promise<number> {
  const res = await q.query('DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at < now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)', [limit]);
  return res.rowCount ?? 0;
}
