// Who follows whom, in Postgres.
import type { Queryable } from '../db/database.js';

/** Makes `followerId` follow `followeeId` (idempotent). */
export async function follow(q: Queryable, followerId: number, followeeId: number): Promise<void> {
  await q.query('INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [followerId, followeeId]);
}

/** Makes `followerId` stop following `followeeId` (idempotent). */
export async function unfollow(q: Queryable, followerId: number, followeeId: number): Promise<void> {
  await q.query('DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2', [followerId, followeeId]);
}

/** True when `followerId` follows `followeeId`. */
export async function isFollowing(q: Queryable, followerId: number, followeeId: number): Promise<boolean> {
  const { rows } = await q.query('SELECT /* profile.read */ 1 FROM follows WHERE follower_id = $1 AND followee_id = $2', [followerId, followeeId]);
  return rows.length > 0;
}
