// backup and restore modes: a dump streamed from Postgres to the bucket with a manifest and retention; a backup
// fetched onto an empty database volume for Postgres to load before it serves.
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';
import type { BackupStore } from './backup-store.repository.js';
import {
  BackupError,
  backupNameAt,
  backupsIn,
  chooseBackup,
  dumpKey,
  manifestKey,
  retentionVictims,
  type BackupLocation,
  type BackupManifest,
  type Retention,
} from './backups.js';

/** What a backup run needs. */
export interface BackupDeps {
  store: BackupStore;
  location: BackupLocation;
  retention: Retention | null;
  database: string;
  /** The dump container's pipe and status (backup-files.repository.ts). */
  pipe: { open(): Promise<Readable>; discard(): Promise<void>; status(): Promise<{ code: number; messages: string }> };
  now: () => Date;
  log: Logger;
}

/** What a backup run did. */
export interface BackupResult {
  name: string;
  size: number;
  deleted: string[];
}

/** Streams the dump into the bucket, writes its manifest, then deletes what retention no longer keeps. */
export async function runBackupWith(deps: BackupDeps): Promise<BackupResult> {
  const started = deps.now();
  const name = backupNameAt(started);
  // Before the dump: bad credentials or an unreachable bucket fail at once, with the reason, not after a long dump.
  try {
    await deps.store.list();
  } catch (err) {
    await deps.pipe.discard().catch(() => undefined);
    throw err;
  }
  const body = await deps.pipe.open();
  deps.log.info('backup started', { backup: name, to: deps.store.where });
  const size = await deps.store.upload(dumpKey(deps.location, name), body, async () => {
    const { code, messages } = await deps.pipe.status();
    if (code !== 0) throw new BackupError('DumpFailed', `pg_dump exited with status ${code}${messages ? `: ${messages}` : ''}`);
  });
  const manifest: BackupManifest = { name, startedAt: started.toISOString(), completedAt: deps.now().toISOString(), size, format: 'pg_dump-custom', database: deps.database };
  await deps.store.putJson(manifestKey(deps.location, name), manifest);
  deps.log.info('backup stored', { backup: name, size });
  let deleted: string[] = [];
  if (deps.retention) {
    deleted = retentionVictims(backupsIn(deps.location, await deps.store.list()), deps.retention, name, deps.now());
    // Manifests first: a backup without one is never restored, so a deletion cut short leaves no half backup behind.
    await deps.store.delete(deleted.map((n) => manifestKey(deps.location, n)));
    await deps.store.delete(deleted.map((n) => dumpKey(deps.location, n)));
    if (deleted.length) deps.log.info('old backups deleted', { deleted });
  }
  return { name, size, deleted };
}

/** What a restore needs. */
export interface RestoreDeps {
  store: BackupStore;
  location: BackupLocation;
  /** A backup name or "latest". */
  backup: string;
  files: {
    hasDatabase(): Promise<boolean>;
    restoredFrom(): Promise<string | null>;
    fetched(): Promise<string | null>;
    write(name: string, body: Readable): Promise<number>;
  };
  log: Logger;
}

/** What a restore step did: fetched a backup, found one fetched before, or left an existing database alone. */
export type RestoreResult =
  | { outcome: 'fetched'; name: string; size: number }
  | { outcome: 'already-fetched'; name: string }
  | { outcome: 'restored-before'; name: string }
  | { outcome: 'database-exists' };

/** Fetches the backup onto the volume for Postgres to load, unless the volume already holds a database (never overwritten). */
export async function runRestoreWith(deps: RestoreDeps): Promise<RestoreResult> {
  if (await deps.files.hasDatabase()) {
    const name = await deps.files.restoredFrom();
    return name ? { outcome: 'restored-before', name } : { outcome: 'database-exists' };
  }
  const listing = backupsIn(deps.location, await deps.store.list());
  const name = chooseBackup(listing.complete, deps.backup, deps.store.where);
  if ((await deps.files.fetched()) === name) return { outcome: 'already-fetched', name };
  const manifest = await deps.store.getJson<BackupManifest>(manifestKey(deps.location, name));
  deps.log.info('fetching backup', { backup: name, size: manifest.size, from: deps.store.where });
  const size = await deps.files.write(name, await deps.store.download(dumpKey(deps.location, name)));
  if (size !== manifest.size) throw new BackupError('RestoreFailed', `backup ${name} in ${deps.store.where}: fetched ${size} bytes, its manifest says ${manifest.size}`);
  return { outcome: 'fetched', name, size };
}

/** The termination message of a restore step, `<Reason>: <text>`: what the operator shows in the Restored condition. */
export function restoreMessage(r: RestoreResult, where: string): string {
  switch (r.outcome) {
    case 'fetched':
    case 'already-fetched':
      return `Restoring: backup ${r.name} from ${where} is being loaded`;
    case 'restored-before':
      return `Restored: backup ${r.name} from ${where}`;
    case 'database-exists':
      return 'DatabaseExists: the volume already holds a database, so no backup was restored (a restore never overwrites a database)';
  }
}

/** The termination message of a failed backup or restore, `<Reason>: <text>`. */
export function failureMessage(err: unknown): string {
  if (err instanceof BackupError) return `${err.code}: ${err.message}`;
  return `Failed: ${err instanceof Error ? err.message : String(err)}`;
}
