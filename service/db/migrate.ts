// Applies pending migrations under a Postgres advisory lock, so several runners at once are safe.
import pg from 'pg';
import type { Logger } from '../log.js';
import { isConnectionError, type DatabaseConnection } from './database.js';
import { pgSsl } from './tls.js';
import { migrations as allMigrations, type Migration } from './migrations.js';

/** Lock id shared by every migrate run ("graminst" in ASCII, truncated to a bigint). */
const LOCK_ID = '7453010373645546356';

/**
 * Connection settings for the migrate mode (the primary only). retrySeconds: how long a primary that cannot be reached
 * (refused, not resolving, starting up) is waited for; a migrate Job or init container often starts before the primary
 * listens. Other errors (a password or certificate refused) fail at once. Omitted: one try.
 */
export type MigrateOptions = Omit<DatabaseConnection, 'replicas' | 'poolSize' | 'retrySeconds'> & { retrySeconds?: number };

/** Waits between two tries to reach the primary, doubling from 250 ms to 4 s. */
const CONNECT_DELAYS_MS = { first: 250, max: 4000 };

/** Applies every pending migration once; returns the versions this run applied. */
export async function migrate(opts: MigrateOptions, log: Logger, migrations: Migration[] = allMigrations): Promise<number[]> {
  const client = await connectPrimary(opts, log);
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

/** A client of the primary, connected; retries what isConnectionError calls unreachable for opts.retrySeconds. */
async function connectPrimary(opts: MigrateOptions, log: Logger): Promise<pg.Client> {
  const deadline = Date.now() + (opts.retrySeconds ?? 0) * 1000;
  let delay = CONNECT_DELAYS_MS.first;
  for (let attempt = 1; ; attempt++) {
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
    // A connection that fails after connect() settled must not end the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
      if (attempt > 1) log.info('reached the primary', { host: opts.host, port: opts.port, attempts: attempt });
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      const waited = opts.retrySeconds ?? 0;
      if (!isConnectionError(err) || Date.now() + delay > deadline) {
        const within = isConnectionError(err) && waited > 0 ? ` (not reachable within ${waited}s, ${attempt} tries)` : '';
        throw new Error(`while connecting to the primary at ${opts.host}:${opts.port}${within}`, { cause: err });
      }
      if (attempt === 1) log.info('waiting for the primary', { host: opts.host, port: opts.port, err: (err as Error).message, retrySeconds: waited });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, CONNECT_DELAYS_MS.max);
    }
  }
}
