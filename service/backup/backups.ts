// Backups of the database in a bucket: how they are named and laid out, which one a restore takes, which ones retention deletes.

/** Where backups live: a bucket and a key prefix in it (no leading or trailing slash; '' for the bucket's root). */
export interface BackupLocation {
  bucket: string;
  prefix: string;
}

/** How many backups to keep: the newest `count`, or those younger than `days` (the newest is always kept). */
export type Retention = { count: number } | { days: number };

/** What the manifest of a complete backup records (`<prefix>/<name>.json`, written after the dump was stored). */
export interface BackupManifest {
  name: string;
  /** ISO time the dump started. */
  startedAt: string;
  /** ISO time the dump was stored. */
  completedAt: string;
  /** Bytes of the dump object. */
  size: number;
  /** pg_dump's custom format. */
  format: 'pg_dump-custom';
  database: string;
}

/** One object of a listing under the prefix. */
export interface ListedObject {
  key: string;
  lastModified: Date;
}

/** A backup name: the UTC time it started, e.g. 20261202T031500Z (sorts by time). */
export function backupNameAt(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

const NAME = /^\d{8}T\d{6}Z$/;

/** True when `name` is a backup name (what backupNameAt makes). */
export function isBackupName(name: string): boolean {
  return NAME.test(name);
}

function base(location: BackupLocation): string {
  return location.prefix ? `${location.prefix}/` : '';
}

/** Key of a backup's dump. */
export function dumpKey(location: BackupLocation, name: string): string {
  return `${base(location)}${name}.pgdump`;
}

/** Key of a backup's manifest: it exists only once the dump is complete. */
export function manifestKey(location: BackupLocation, name: string): string {
  return `${base(location)}${name}.json`;
}

/** The backups a listing holds: complete ones (with a manifest) and dumps without one (a run that failed), oldest first. */
export function backupsIn(location: BackupLocation, objects: readonly ListedObject[]): { complete: string[]; incomplete: string[] } {
  const dumps = new Set<string>();
  const manifests = new Set<string>();
  const prefix = base(location);
  for (const { key } of objects) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const m = /^(\d{8}T\d{6}Z)\.(pgdump|json)$/.exec(rest);
    if (!m) continue;
    (m[2] === 'json' ? manifests : dumps).add(m[1]!);
  }
  const complete = [...manifests].filter((n) => dumps.has(n)).sort();
  const incomplete = [...dumps].filter((n) => !manifests.has(n)).sort();
  return { complete, incomplete };
}

/** The backup a restore takes: `wanted` itself, or the newest complete one for "latest"; throws naming what is missing. */
export function chooseBackup(complete: readonly string[], wanted: string, where: string): string {
  if (wanted === 'latest') {
    const newest = complete.at(-1);
    if (!newest) throw new BackupError('BackupNotFound', `no complete backup in ${where}`);
    return newest;
  }
  if (!complete.includes(wanted)) {
    const known = complete.length ? `; the complete backups there are ${complete.slice(-5).join(', ')}${complete.length > 5 ? ' and older' : ''}` : '; there is no complete backup there';
    throw new BackupError('BackupNotFound', `backup ${wanted} is not in ${where} (or has no manifest: it did not complete)${known}`);
  }
  return wanted;
}

/** Time of a backup name. */
export function backupTime(name: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(name);
  if (!m) throw new Error(`not a backup name: ${name}`);
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
}

/**
 * The backups retention deletes after `just` completed: complete ones beyond the newest `count`, or older than `days`
 * before `now` (the newest is always kept), and dumps without a manifest older than `just` (runs that failed).
 */
export function retentionVictims(backups: { complete: readonly string[]; incomplete: readonly string[] }, retention: Retention, just: string, now: Date): string[] {
  const complete = [...backups.complete].sort();
  let keep: Set<string>;
  if ('count' in retention) {
    keep = new Set(complete.slice(-Math.max(1, retention.count)));
  } else {
    const cutoff = now.getTime() - retention.days * 86_400_000;
    keep = new Set(complete.filter((n) => backupTime(n).getTime() >= cutoff));
    if (complete.length) keep.add(complete.at(-1)!);
  }
  keep.add(just);
  const victims = complete.filter((n) => !keep.has(n));
  const orphans = backups.incomplete.filter((n) => n < just);
  return [...victims, ...orphans].sort();
}

/** What went wrong with a backup or a restore, with a stable CamelCase code (the operator's condition reason). */
export class BackupError extends Error {
  constructor(
    readonly code: 'BackupNotFound' | 'BucketUnreachable' | 'CredentialsMissing' | 'CredentialsRejected' | 'DumpFailed' | 'RestoreFailed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackupError';
  }
}
