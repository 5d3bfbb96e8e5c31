// The schema, as an ordered list of migrations; append only.

/** One schema change, applied once in its own transaction. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration in order. */
export const migrations: Migration[] = [
  {
    version: 1,
    name: 'users, sessions, uploads, photos, follows, likes',
    sql: `
      CREATE TABLE users (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username text NOT NULL UNIQUE,
        password_hash text NOT NULL,
        display_name text NOT NULL,
        bio text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE sessions (
        id text PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE uploads (
        id text PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
        object_key text NOT NULL UNIQUE,
        content_type text NOT NULL,
        declared_size integer NOT NULL,
        consumed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE photos (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
        object_key text NOT NULL UNIQUE,
        caption text NOT NULL DEFAULT '',
        content_type text NOT NULL,
        size_bytes integer NOT NULL,
        width integer,
        height integer,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX photos_user_id_id ON photos (user_id, id DESC);
      CREATE TABLE follows (
        follower_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
        followee_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (follower_id, followee_id),
        CHECK (follower_id <> followee_id)
      );
      CREATE INDEX follows_followee ON follows (followee_id);
      CREATE TABLE likes (
        photo_id bigint NOT NULL REFERENCES photos ON DELETE CASCADE,
        user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (photo_id, user_id)
      );
    `,
  },
  {
    version: 2,
    name: 'indexes for open uploads and expired sessions (cap and sweeper)',
    sql: `
      CREATE INDEX uploads_open_by_user ON uploads (user_id, created_at) WHERE consumed_at IS NULL;
      CREATE INDEX uploads_open_by_age ON uploads (created_at) WHERE consumed_at IS NULL;
      CREATE INDEX sessions_expires_at ON sessions (expires_at);
    `,
  },
];
