// Postgres access: a primary pool for writes, replica pools for reads (round-robin), fallback and read-your-writes routing.
import pg from 'pg';
import { AppError, unavailable } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics, PoolStat } from '../metrics.js';

/** The handle repositories take: a pool or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Connection settings of the database cluster, as the configuration states them. */
export interface DatabaseConnection {
  host: string;
  port: number;
  name: string;
  user: string;
  password: string;
  ssl: boolean;
  replicas: { host: string; port: number }[];
  poolSize: number;
}

/** Connection settings plus the routing knobs the Database takes. */
export interface DatabaseOptions extends DatabaseConnection {
  /** How long after a user's write their reads go to the primary. */
  readYourWritesMs?: number;
  /** How long a replica that failed is skipped. */
  replicaBackoffMs?: number;
  now?: () => number;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '25006']);

/** True when `err` means the server could not be reached or went away (as opposed to a bad query). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  if (code && CONNECTION_CODES.has(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|Query read timeout/i.test(err.message);
}

/** What services use of the Database (so unit tests can pass a fake one). */
export type DatabaseHandle = Pick<Database, 'write' | 'read' | 'transaction' | 'readsFromPrimary'>;

/** Statements whose changed rows count as a write for read-your-writes. */
const WRITE_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

function changedRows(res: pg.QueryResult): boolean {
  return WRITE_COMMANDS.has(res.command) && (res.rowCount ?? 0) > 0;
}

interface Replica {
  name: string;
  pool: pg.Pool;
  downUntil: number;
}

/** Routes queries to the primary or the replicas and turns connection failures into 503s. */
export class Database {
  readonly primary: pg.Pool;
  private readonly replicas: Replica[];
  private next = 0;
  private readonly recentWriters = new Map<string, number>();
  private readonly rywMs: number;
  private readonly backoffMs: number;
  private readonly now: () => number;

  constructor(
    opts: DatabaseOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.rywMs = opts.readYourWritesMs ?? 5000;
    this.backoffMs = opts.replicaBackoffMs ?? 2000;
    this.now = opts.now ?? Date.now;
    const base = {
      database: opts.name,
      user: opts.user,
      password: opts.password,
      ssl: opts.ssl ? { rejectUnauthorized: false } : undefined,
      max: opts.poolSize,
      connectionTimeoutMillis: 2000,
      idleTimeoutMillis: 30000,
      query_timeout: 10000,
      application_name: 'graminsta',
    };
    this.primary = this.makePool({ ...base, host: opts.host, port: opts.port }, 'primary');
    this.replicas = opts.replicas.map((r, i) => ({ name: `replica${i}`, pool: this.makePool({ ...base, host: r.host, port: r.port }, `replica${i}`), downUntil: 0 }));
    metrics.setPoolStats(() => this.poolStats());
  }

  private makePool(config: pg.PoolConfig, name: string): pg.Pool {
    const pool = new pg.Pool(config);
    // Idle clients emit errors when the server goes away; without a listener the process would crash.
    pool.on('error', (err) => this.log.warn('idle database connection failed', { pool: name, err }));
    return pool;
  }

  /** Connection counts per pool, for the pool gauges. */
  poolStats(): PoolStat[] {
    const stat = (name: string, p: pg.Pool): PoolStat => ({ pool: name, total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount });
    return [stat('primary', this.primary), ...this.replicas.map((r) => stat(r.name, r.pool))];
  }

  /** Records that `userId` just wrote, so their reads go to the primary for a short window. */
  private noteWrite(userId: number | null | undefined): void {
    if (userId === null || userId === undefined) return;
    const t = this.now();
    this.recentWriters.set(String(userId), t + this.rywMs);
    if (this.recentWriters.size > 10000) for (const [k, until] of this.recentWriters) if (until <= t) this.recentWriters.delete(k);
  }

  /** True while `userId`'s reads must see their own recent writes (they go to the primary). */
  readsFromPrimary(userId: number | null | undefined): boolean {
    if (userId === null || userId === undefined) return false;
    const until = this.recentWriters.get(String(userId));
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.recentWriters.delete(String(userId));
    return false;
  }

  /**
   * The handle for the primary. Queries on it that change rows for `userId` send that user's reads to the primary
   * for a short window (read-your-writes); without a user it only reads from or writes to the primary.
   */
  write(userId?: number | null): Queryable {
    return {
      query: async <R extends pg.QueryResultRow>(text: string, params?: unknown[]) => {
        const res = await this.run<R>(this.primary, 'primary', text, params);
        if (changedRows(res)) this.noteWrite(userId);
        return res;
      },
    };
  }

  /** The handle for reads on behalf of `viewerId`: a replica unless the viewer wrote recently or no replica answers. */
  read(viewerId?: number | null): Queryable {
    if (this.replicas.length === 0 || this.readsFromPrimary(viewerId)) return { query: (text, params) => this.readPrimary(text, params) };
    return { query: (text, params) => this.readReplica(text, params) };
  }

  private readPrimary<R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    this.metrics.dbReads.inc({ target: 'primary' });
    return this.run<R>(this.primary, 'primary', text, params);
  }

  private async readReplica<R extends pg.QueryResultRow>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    const n = this.replicas.length;
    const start = this.next++ % n;
    const t = this.now();
    for (let i = 0; i < n; i++) {
      const r = this.replicas[(start + i) % n]!;
      if (r.downUntil > t) continue;
      try {
        const res = await r.pool.query<R>(text, params);
        this.metrics.dbReads.inc({ target: 'replica' });
        return res;
      } catch (err) {
        if (!isConnectionError(err)) throw wrapQueryError(err);
        r.downUntil = this.now() + this.backoffMs;
        this.metrics.dbUnavailable.inc({ pool: r.name });
        this.log.warn('replica unavailable, trying the next one', { pool: r.name, err });
      }
    }
    this.metrics.replicaFallbacks.inc({ reason: 'unavailable' });
    return this.readPrimary<R>(text, params);
  }

  private async run<R extends pg.QueryResultRow>(pool: pg.Pool, name: string, text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await pool.query<R>(text, params);
    } catch (err) {
      if (isConnectionError(err)) {
        this.metrics.dbUnavailable.inc({ pool: name });
        throw unavailable('database_unavailable', 'the database is unavailable; try again shortly', err);
      }
      throw wrapQueryError(err);
    }
  }

  /** Runs `fn` in a transaction on the primary; commits when it resolves, rolls back when it throws. A commit that changed rows counts as `userId`'s write. */
  async transaction<T>(fn: (q: Queryable) => Promise<T>, userId?: number | null): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.primary.connect();
    } catch (err) {
      this.metrics.dbUnavailable.inc({ pool: 'primary' });
      throw unavailable('database_unavailable', 'the database is unavailable; try again shortly', err);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      let wrote = false;
      const tx: Queryable = {
        query: async <R extends pg.QueryResultRow>(text: string, params?: unknown[]) => {
          const res = await client.query<R>(text, params);
          wrote ||= changedRows(res);
          return res;
        },
      };
      const result = await fn(tx);
      await client.query('COMMIT');
      if (wrote) this.noteWrite(userId);
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
      if (err instanceof AppError) throw err;
      if (isConnectionError(err)) {
        broken = err;
        this.metrics.dbUnavailable.inc({ pool: 'primary' });
        throw unavailable('database_unavailable', 'the database is unavailable; try again shortly', err);
      }
      // Errors of `fn` itself pass through as they are; only the server's answers are wrapped.
      throw err instanceof pg.DatabaseError ? wrapQueryError(err) : err;
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /** Resolves when the primary answers a trivial query within `timeoutMs`. */
  async pingPrimary(timeoutMs = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.primary.query('SELECT 1'),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('primary ping timed out')), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    await Promise.allSettled([this.primary.end(), ...this.replicas.map((r) => r.pool.end())]);
  }
}

function wrapQueryError(err: unknown): Error {
  if (err instanceof AppError) return err;
  return new Error('while running a database query', { cause: err });
}

/** The Postgres SQLSTATE of `err` or of an error in its cause chain (e.g. '23505' for unique violations). */
export function pgCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e instanceof Error; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = e.cause;
  }
  return undefined;
}
