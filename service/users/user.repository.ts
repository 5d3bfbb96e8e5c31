// Users and their public profiles in Postgres.
import type { Queryable } from '../db/database.js';
import { pgCode } from '../db/database.js';
import { AppError } from '../errors.js';

/** A user's public profile with counts, as cached under user:<id>. */
export interface Profile {
  id: number;
  username: string;
  displayName: string;
  bio: string;
  followers: number;
  following: number;
  photos: number;
  createdAt: string;
}

/** The columns needed to log in. */
export interface Credentials {
  id: number;
  passwordHash: string;
}

/** Inserts a user; a taken username is a 409. */
export async function insertUser(q: Queryable, u: { username: string; passwordHash: string; displayName: string }): Promise<number> {
  try {
    const { rows } = await q.query<{ id: string }>('INSERT INTO users (username, password_hash, display_name) VALUES ($1, $2, $3) RETURNING id', [u.username, u.passwordHash, u.displayName]);
    return Number(rows[0]!.id);
  } catch (err) {
    if (pgCode(err) === '23505') throw new AppError('username_taken', `username: ${u.username} is already taken`, { field: 'username' });
    throw err;
  }
}

/** Replaces the password hash of `id` if it is still `previous` (a concurrent change wins); true when it was replaced. */
export async function replacePasswordHash(q: Queryable, id: number, previous: string, next: string): Promise<boolean> {
  const res = await q.query('UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2', [id, previous, next]);
  return res.rowCount === 1;
}

/** The id and password hash for `username`, or null. */
export async function findCredentials(q: Queryable, username: string): Promise<Credentials | null> {
  const { rows } = await q.query<{ id: string; password_hash: string }>('SELECT id, password_hash FROM users WHERE username = $1', [username]);
  const r = rows[0];
  return r ? { id: Number(r.id), passwordHash: r.password_hash } : null;
}

/** The id of `username`, or null. */
export async function findIdByUsername(q: Queryable, username: string): Promise<number | null> {
  const { rows } = await q.query<{ id: string }>('SELECT /* profile.read */ id FROM users WHERE username = $1', [username]);
  return rows[0] ? Number(rows[0].id) : null;
}

/** The public profile of user `id` with follower, following and photo counts, or null. */
export async function findProfile(q: Queryable, id: number): Promise<Profile | null> {
  const { rows } = await q.query<{ id: string; username: string; display_name: string; bio: string; followers: string; following: string; photos: string; created_at: Date }>(
    `SELECT /* profile.read */ u.id, u.username, u.display_name, u.bio, u.created_at,
       (SELECT count(*) FROM follows f WHERE f.followee_id = u.id) AS followers,
       (SELECT count(*) FROM follows f WHERE f.follower_id = u.id) AS following,
       (SELECT count(*) FROM photos p WHERE p.user_id = u.id) AS photos
     FROM users u WHERE u.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: Number(r.id),
    username: r.username,
    displayName: r.display_name,
    bio: r.bio,
    followers: Number(r.followers),
    following: Number(r.following),
    photos: Number(r.photos),
    createdAt: r.created_at.toISOString(),
  };
}

/** Updates the given profile fields of user `id`. */
export async function updateProfile(q: Queryable, id: number, patch: { displayName?: string; bio?: string }): Promise<void> {
  await q.query('UPDATE users SET display_name = COALESCE($2, display_name), bio = COALESCE($3, bio) WHERE id = $1', [id, patch.displayName ?? null, patch.bio ?? null]);
}
