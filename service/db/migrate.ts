// Applies pending migrations under a Postgres advisory lock, so several runners at once are safe.
import pg from 'pg';
import type { Logger } from '../log.js';
import type { DatabaseConnection } from './database.js';
import { pgSsl } from './tls.js';
import { migrations as allMigrations, type Migration } from './migrations.js';

/** Lock id shared by every migrate run ("graminst" in ASCII, truncated to a bigint). */
const LOCK_ID = '7453010373645546356';

/** Connection settings for the migrate mode (the primary only). */
export type MigrateOptions = Omit<DatabaseConnection, 'replicas' | 'poolSize' | 'retrySeconds'>;

/** Applies every pending migration once; returns the versions this run applied. */
export async function migrate(opts: MigrateOptions, log: Logger, migrations: Migration[] = allMigrations): Promise<number[]> {
  const client = new pg.Client({
    host: opts.host,
    port: opts.port,
    database: opts.name,
    user: opts.user,
    password: opts.password,
    ssl: pgSsl(opts.tls),
    connectionTimeoutMillis: 10000,
    application_name: 'graminsta-migrate',
  });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`while connecting to the primary at ${opts.host}:${opts.port}`, { cause: err });
  }
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`while applying migration ${m.version} (${m.name})`, { cause: err });
      }
      applied.push(m.version);
      log.info('applied migration', { version: m.version, name: m.name });
    }
    log.info('database schema is up to date', { applied: applied.length, latest: migrations.at(-1)?.version ?? 0 });
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
