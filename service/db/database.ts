// Postgres access: a primary pool for writes, replica pools for reads (round-robin), fallback and read-your-writes routing.
import pg from 'pg';
import { AppError, unavailable } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics, PoolStat } from '../metrics.js';
import { pgSsl, type DatabaseTls } from './tls.js';

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
  /** sslmode and CA file of every connection (tls.ts). */
  tls: DatabaseTls;
  replicas: { host: string; port: number }[];
  poolSize: number;
  /** How long a query keeps being retried, from its first attempt, while the server cannot be reached (0 = never). */
  retrySeconds: number;
  /** The longest one statement may run; the server cancels it then (statement_timeout, lock_timeout). Default 10 s. */
  queryTimeoutMs?: number;
}

/** How long after a user's write their reads go to the primary, unless told otherwise (readYourWritesMs). */
export const READ_YOUR_WRITES_MS = 5000;

/** Connection settings plus the routing knobs the Database takes. */
export interface DatabaseOptions extends DatabaseConnection {
  /** How long after a user's write their reads go to the primary. */
  readYourWritesMs?: number;
  /** How long a replica that failed is skipped. */
  replicaBackoffMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '25006']);

/** True when `err` means the server could not be reached or went away (as opposed to a bad query). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  if (code && CONNECTION_CODES.has(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|Query read timeout/i.test(err.message);
}

/** Server-sent FATALs that end a session: admin shutdown, crash shutdown, starting up or shutting down. */
const SESSION_ENDED = new Set(['57P01', '57P02', '57P03']);

/** Errors known to have happened before their statement (or transaction) could have taken effect. */
const notExecuted = new WeakSet<object>();

function markNotExecuted(err: unknown): unknown {
  if (typeof err === 'object' && err !== null) notExecuted.add(err);
  return err;
}

/** Resolves when `pool` answers a trivial query within `timeoutMs`; rejects naming `what` otherwise. */
async function ping(pool: pg.Pool, what: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pool.query('SELECT 1'),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} ping timed out`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one statement on `client` with the extended protocol and marks a failure that provably came before the server
 * processed it. How we decide: the server answers a Parse with ParseComplete, and a backend that is terminated flushes
 * what it had buffered before its FATAL. So a 57P01/57P02/57P03 FATAL with no ParseComplete before it means the backend
 * ended before it read our statement (typically an idle connection killed by a fast shutdown that the pool had not
 * noticed yet). pg's "not queryable" errors mean it never sent the statement at all. Anything else after sending
 * (a reset socket, a FATAL after ParseComplete, a timeout) is ambiguous: the statement may have committed.
 */
async function queryOnce<R extends pg.QueryResultRow>(client: pg.PoolClient, text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
  const con = (client as unknown as { connection?: { on: (e: string, f: () => void) => void; off: (e: string, f: () => void) => void } }).connection;
  let parsed = false;
  const onParsed = () => (parsed = true);
  con?.on('parseComplete', onParsed);
  try {
    return await client.query<R>({ text, values: params, queryMode: 'extended' } as pg.QueryConfig);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if ((code && SESSION_ENDED.has(code) && !parsed) || /is not queryable/.test((err as Error).message ?? '')) markNotExecuted(err);
    throw err;
  } finally {
    con?.off('parseComplete', onParsed);
  }
}

/** True when `err` is worth retrying at all: the server could not be reached or went away (a slow query is not). */
function retryableConnectionError(err: unknown): boolean {
  return isConnectionError(err) && !/Query read timeout/i.test((err as Error).message);
}

/** What services use of the Database (so unit tests can pass a fake one). */
export type DatabaseHandle = Pick<Database, 'write' | 'read' | 'transaction' | 'readsFromPrimary'>;

/** A statement that only reads (our SELECTs call no function that changes anything): safe to send again. */
const READ_ONLY = /^\s*SELECT\b/i;

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
  private readonly retryMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    opts: DatabaseOptions,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.rywMs = opts.readYourWritesMs ?? READ_YOUR_WRITES_MS;
    this.backoffMs = opts.replicaBackoffMs ?? 2000;
    this.now = opts.now ?? Date.now;
    this.retryMs = opts.retrySeconds * 1000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    const queryTimeoutMs = opts.queryTimeoutMs ?? 10000;
    const base = {
      database: opts.name,
      user: opts.user,
      password: opts.password,
      ssl: pgSsl(opts.tls),
      max: opts.poolSize,
      connectionTimeoutMillis: 2000,
      idleTimeoutMillis: 30000,
      // The server enforces the bound and cancels the statement; the client's own timer is only a backstop for a
      // server that does not answer at all (it leaves the statement running, so it must fire later).
      statement_timeout: queryTimeoutMs,
      lock_timeout: queryTimeoutMs,
      idle_in_transaction_session_timeout: queryTimeoutMs * 2,
      query_timeout: queryTimeoutMs + 2000,
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
   * A SELECT is retried like a read (it changes nothing). Any other statement runs as a transaction of its own, so
   * that a connection failing after the server got it is resolved as a transaction's COMMIT is (pg_xact_status)
   * instead of answering 503 for a write that may have committed: three more round trips, on writes only.
   * So a statement that cannot run inside a transaction block (VACUUM, CREATE INDEX CONCURRENTLY) cannot go through here.
   */
  write(userId?: number | null): Queryable {
    return {
      query: <R extends pg.QueryResultRow>(text: string, params?: unknown[]) =>
        READ_ONLY.test(text) ? this.run<R>(this.primary, 'primary', text, params) : this.transaction((tx) => tx.query<R>(text, params), userId),
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

  /** The waits of the retry backoff: 100 ms doubling to 1 s, each cut to what is left until `deadline`; done once it has passed. */
  private *backoff(deadline: number): Generator<number, void> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
      const left = deadline - this.now();
      if (left <= 0) return;
      yield Math.min(delay, left);
    }
  }

  /**
   * Calls `attempt` until it succeeds, fails for another reason than the connection, fails in a way `safe` refuses,
   * or `deadline` (by default GRAMINSTA_DB_RETRY_SECONDS after the first attempt) has passed; waits as `backoff` says.
   */
  private async retrying<T>(pool: string, attempt: () => Promise<T>, safe: (err: unknown) => boolean, deadline = this.now() + this.retryMs): Promise<T> {
    const waits = this.backoff(deadline);
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        if (!retryableConnectionError(err) || !safe(err)) throw err;
        const wait = waits.next();
        if (wait.done) throw err;
        this.metrics.dbRetries.inc({ pool });
        this.log.debug('database unavailable, retrying', { pool, inMs: wait.value, err });
        await this.sleep(wait.value);
      }
    }
  }

  /** One statement on a client of `pool`. */
  private async attemptOnPool<R extends pg.QueryResultRow>(pool: pg.Pool, text: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    const client = await pool.connect();
    let broken: unknown;
    const onError = (err: Error) => (broken = err);
    // A checked-out client emits the server's FATAL as an 'error' event when no query is active; unheard, it would crash the process.
    client.on('error', onError);
    try {
      return await queryOnce<R>(client, text, params);
    } catch (err) {
      if (isConnectionError(err)) broken = err;
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /** A read-only statement on `pool`, retried on any connection failure within the bound. */
  private async run<R extends pg.QueryResultRow>(pool: pg.Pool, name: string, text: string, params: unknown[] | undefined): Promise<pg.QueryResult<R>> {
    try {
      return await this.retrying(name, () => this.attemptOnPool<R>(pool, text, params), () => true);
    } catch (err) {
      if (isConnectionError(err)) {
        this.metrics.dbUnavailable.inc({ pool: name });
        throw unavailable('database_unavailable', 'the database is unavailable; try again shortly', err);
      }
      throw wrapQueryError(err);
    }
  }

  /**
   * Runs `fn` in a transaction on the primary; commits when it resolves, rolls back when it throws. A commit that changed rows counts as `userId`'s write.
   * The whole transaction is run again (within the retry bound) when the connection failed before COMMIT was sent
   * (nothing can have committed) or COMMIT itself provably was not executed; so `fn` must only touch the database.
   * When the connection fails during the COMMIT of a transaction that wrote, its outcome is read back from the server
   * (pg_xact_status of its transaction id, within the same bound): committed is a success, aborted is run again.
   */
  async transaction<T>(fn: (q: Queryable) => Promise<T>, userId?: number | null): Promise<T> {
    const deadline = this.now() + this.retryMs;
    try {
      return await this.retrying('primary', () => this.transactionOnce(fn, deadline, userId), (err) => notExecuted.has(err as object), deadline);
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (isConnectionError(err)) {
        this.metrics.dbUnavailable.inc({ pool: 'primary' });
        throw unavailable('database_unavailable', 'the database is unavailable; try again shortly', err);
      }
      // Errors of `fn` itself pass through as they are; only the server's answers are wrapped.
      throw err instanceof pg.DatabaseError ? wrapQueryError(err) : err;
    }
  }

  /**
   * The outcome of transaction `xid` after its connection failed during COMMIT, asked on a new connection until the
   * server answers or `deadline` passes (the server is usually restarting); null when it could not be told.
   */
  private async commitOutcome(xid: string, deadline: number): Promise<'committed' | 'aborted' | null> {
    const waits = this.backoff(deadline);
    for (;;) {
      try {
        const status = (await this.primary.query<{ status: string | null }>('SELECT pg_xact_status($1::xid8) AS status', [xid])).rows[0]?.status;
        if (status === 'committed' || status === 'aborted') return status;
        // 'in progress': the backend that ran it has not ended yet; null: too old to tell (cannot be, moments later).
        if (status !== 'in progress') return null;
      } catch (err) {
        if (!isConnectionError(err)) return null;
      }
      const wait = waits.next();
      if (wait.done) return null;
      await this.sleep(wait.value);
    }
  }

  /** One attempt of `transaction`; `deadline` bounds the read-back of a COMMIT whose connection failed. */
  private async transactionOnce<T>(fn: (q: Queryable) => Promise<T>, deadline: number, userId?: number | null): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.primary.connect();
    } catch (err) {
      throw markNotExecuted(err);
    }
    let broken: unknown;
    let committing = false;
    // Between statements (while `fn` runs) the server's FATAL arrives as an 'error' event; the next statement then fails as not queryable.
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      await queryOnce(client, 'BEGIN');
      let wrote = false;
      const tx: Queryable = {
        query: async <R extends pg.QueryResultRow>(text: string, params?: unknown[]) => {
          const res = await queryOnce<R>(client, text, params);
          wrote ||= changedRows(res);
          return res;
        },
      };
      const result = await fn(tx);
      // Its id, so that a COMMIT whose connection fails can be told committed or not (rather than guessed).
      const xid = wrote ? ((await queryOnce<{ xid: string | null }>(client, 'SELECT pg_current_xact_id_if_assigned()::text AS xid')).rows[0]?.xid ?? null) : null;
      committing = true;
      try {
        await queryOnce(client, 'COMMIT');
      } catch (err) {
        if (!xid || !isConnectionError(err) || notExecuted.has(err as object)) throw err;
        broken = err;
        const outcome = await this.commitOutcome(xid, deadline);
        this.log.info('the connection failed during COMMIT; its outcome was read back', { xid, outcome: outcome ?? 'unknown', err });
        if (outcome === 'aborted') markNotExecuted(err);
        if (outcome !== 'committed') throw err;
      }
      if (wrote) this.noteWrite(userId);
      return result;
    } catch (err) {
      if (isConnectionError(err)) {
        broken = err;
        // Before COMMIT was sent the server rolls the transaction back when the session ends.
        if (!committing) markNotExecuted(err);
      } else {
        await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
      }
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  /** Resolves when the primary answers a trivial query within `timeoutMs`. */
  async pingPrimary(timeoutMs = 1000): Promise<void> {
    await ping(this.primary, 'primary', timeoutMs);
  }

  /** True when at least one read replica answers a trivial query within `timeoutMs` (false without replicas). */
  async replicaAnswers(timeoutMs = 1000): Promise<boolean> {
    for (const r of this.replicas) {
      if (await ping(r.pool, 'replica', timeoutMs).then(() => true, () => false)) return true;
    }
    return false;
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    await Promise.allSettled([this.primary.end(), ...this.replicas.map((r) => r.pool.end())]);
  }
}

/** SQLSTATEs of a statement the server cancelled at statement_timeout or lock_timeout. */
const TIMED_OUT = new Set(['57014', '55P03']);

function wrapQueryError(err: unknown): Error {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string } | null)?.code;
  if (code && TIMED_OUT.has(code)) return unavailable('database_unavailable', 'the database did not answer in time; try again shortly', err);
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
