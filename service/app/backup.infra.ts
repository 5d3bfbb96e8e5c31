// Wires the backup and restore modes: the bucket from the S3 settings, the pod's shared files, the outcome as the
// container's termination message (the operator reads it into status).
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { backupStore, type BackupStore } from '../backup/backup-store.repository.js';
import { dumpPipe, restoreFiles, writeTerminationMessage } from '../backup/backup-files.repository.js';
import { failureMessage, restoreMessage, runBackupWith, runRestoreWith, type BackupResult, type RestoreResult } from '../backup/backup.service.js';
import type { BackupLocation } from '../backup/backups.js';

function storeOf(cfg: Config): { store: BackupStore; location: BackupLocation } {
  if (!cfg.backup) throw new Error(`${cfg.mode} mode needs the backup settings`);
  const location = { bucket: cfg.storage.s3.bucket, prefix: cfg.backup.prefix };
  return { location, store: backupStore({ ...cfg.storage.s3, ...location }) };
}

/** backup mode: streams the dump container's pipe to the bucket; the termination message says what happened. */
export async function runBackup(cfg: Config, log: Logger, timeouts = { pipeMs: 600_000, statusMs: 60_000 }): Promise<BackupResult> {
  const { store, location } = storeOf(cfg);
  const settings = cfg.backup!;
  try {
    const result = await runBackupWith({ store, location, retention: settings.retention, database: cfg.db.name, pipe: dumpPipe(settings.dir, timeouts), now: () => new Date(), log });
    await writeTerminationMessage(settings.terminationMessagePath, `BackupSucceeded: backup ${result.name} (${result.size} bytes) in ${store.where}${result.deleted.length ? `; retention deleted ${result.deleted.join(', ')}` : ''}`);
    return result;
  } catch (err) {
    await writeTerminationMessage(settings.terminationMessagePath, failureMessage(err));
    throw err;
  }
}

/** restore mode: fetches the backup onto an empty database volume for Postgres to load; an existing database is left alone. */
export async function runRestore(cfg: Config, log: Logger): Promise<RestoreResult> {
  const { store, location } = storeOf(cfg);
  const settings = cfg.backup!;
  try {
    const result = await runRestoreWith({ store, location, backup: settings.restoreBackup, files: restoreFiles(settings.restorePgdata, settings.restoreDir), log });
    const message = restoreMessage(result, store.where);
    log.info(message, { outcome: result.outcome });
    await writeTerminationMessage(settings.terminationMessagePath, message);
    return result;
  } catch (err) {
    await writeTerminationMessage(settings.terminationMessagePath, failureMessage(err));
    throw err;
  }
}
