// Structured JSON logs on stdout, one object per line.

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A logger that writes JSON lines with fixed fields merged in. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Whether a line at `level` would be written (callers skip building fields that would be dropped). */
  enabled(level: LogLevel): boolean;
  child(fields: Record<string, unknown>): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function errorFields(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  return { name: err.name, message: err.message, code: (err as { code?: unknown }).code, cause: err.cause === undefined ? undefined : errorFields(err.cause) };
}

/** JSON lines at `min` and above; a class, so a child (one per request) is one small object, not five closures. */
class JsonLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly base: Record<string, unknown>,
    private readonly write: (line: string) => void,
  ) {}

  private emit(lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[lvl] < ORDER[this.level]) return;
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg, ...this.base, ...fields };
    if (rec.err !== undefined) rec.err = errorFields(rec.err);
    this.write(JSON.stringify(rec) + '\n');
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.emit('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.emit('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.emit('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.emit('error', msg, fields);
  }
  enabled(lvl: LogLevel): boolean {
    return ORDER[lvl] >= ORDER[this.level];
  }
  child(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.level, { ...this.base, ...fields }, this.write);
  }
}

/** Creates a logger writing lines at `level` and above through `write` (stdout by default). */
export function createLogger(level: LogLevel, base: Record<string, unknown> = {}, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  return new JsonLogger(level, base, write);
}
