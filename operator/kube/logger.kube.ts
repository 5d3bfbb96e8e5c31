// Structured JSON logs: one object per line with ts, level, msg and fields; secrets redacted.
import { realClock, type Clock } from './clock.kube.js';

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Extra key/value pairs attached to a log line. */
export type LogFields = Record<string, unknown>;

/** The logger every operator component takes as a dependency. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** Options for createLogger. */
export interface LoggerOptions {
  level?: LogLevel;
  stream?: { write(line: string): unknown };
  clock?: Clock;
  fields?: LogFields;
}

const severity: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const secretKey = /passw(or)?d|passphrase|token|secret|authorization|api[-_]?key|credential|private[-_]?key/i;
const reservedKeys = new Set(['ts', 'level', 'msg']);
const maxDepth = 8;

/** Creates a JSON-lines logger; lines below `level` are dropped. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (!(level in severity)) throw new Error(`createLogger: level must be one of debug, info, warn, error (got ${String(level)})`);
  const stream = options.stream ?? process.stdout;
  const clock = options.clock ?? realClock;
  return makeLogger(level, stream, clock, options.fields ?? {});
}

/** A logger that drops everything, for tests that do not look at logs. */
export const nopLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => nopLogger,
};

function makeLogger(level: LogLevel, stream: { write(line: string): unknown }, clock: Clock, bound: LogFields): Logger {
  const write = (lineLevel: LogLevel, msg: string, fields?: LogFields): void => {
    if (severity[lineLevel] < severity[level]) return;
    const record: Record<string, unknown> = { ts: new Date(clock.now()).toISOString(), level: lineLevel, msg };
    for (const [key, value] of Object.entries({ ...bound, ...fields })) {
      record[reservedKeys.has(key) ? `field.${key}` : key] = sanitize(key, value, 0, new WeakSet());
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch (err) {
      line = JSON.stringify({ ts: record.ts, level: lineLevel, msg, logError: `fields not serialisable: ${String(err)}` });
    }
    stream.write(line + '\n');
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (fields) => makeLogger(level, stream, clock, { ...bound, ...fields }),
  };
}

/** Serialises an error with its message, name, status code and cause chain. */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return sanitize('error', err, depth, new WeakSet());
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const extra = err as Error & { code?: unknown; statusCode?: unknown };
  if (extra.code !== undefined) out.code = extra.code;
  if (extra.statusCode !== undefined) out.statusCode = extra.statusCode;
  if (err.stack) out.stack = err.stack;
  if (err.cause !== undefined && depth < maxDepth) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

function sanitize(key: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (secretKey.test(key) && value !== undefined && value !== null && value !== '') return '[REDACTED]';
  if (value instanceof Error) return serializeError(value, depth);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (seen.has(value)) return '[Circular]';
  if (depth >= maxDepth) return '[Truncated]';
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) {
    out = value.map((v) => sanitize('', v, depth + 1, seen));
  } else {
    const obj: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) obj[k] = sanitize(k, v, depth + 1, seen);
    out = obj;
  }
  seen.delete(value);
  return out;
}
