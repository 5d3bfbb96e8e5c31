// Periodic clean-up: expired upload slots (and their files) and expired sessions. Safe to run in every API pod at once:
// each batch locks its rows with FOR UPDATE SKIP LOCKED, so two pods never work on the same row.
import type { DatabaseHandle } from '../db/database.js';
import type { Logger } from '../log.js';
import type { ObjectStorage } from '../storage/storage.js';
import * as uploadRepository from '../photos/upload.repository.js';
import * as sessionRepository from '../users/session.repository.js';

/** What one sweep removed. */
export interface SweepResult {
  uploads: number;
  sessions: number;
  /** Files whose deletion failed; their rows stay for the next sweep. */
  failed: number;
}

/** Dependencies of the sweeper. */
export interface SweeperDeps {
  db: DatabaseHandle;
  storage: ObjectStorage;
  log: Logger;
  uploadTtlSeconds: number;
  intervalMs: number;
  /** Rows per batch (a sweep runs batches until one comes back short). */
  batch?: number;
}

/** Creates the sweeper; `start()` runs `sweep()` every `intervalMs` until `stop()`. */
export function createSweeper(deps: SweeperDeps) {
  const batch = deps.batch ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SweepResult> | undefined;
  let stopped = false;

  async function sweepUploads(result: SweepResult): Promise<void> {
    for (;;) {
      // Deleting a file twice is harmless, so a transaction run again after a lost connection does no damage.
      const n = await deps.db.transaction(async (tx) => {
        const expired = await uploadRepository.lockExpiredUploads(tx, deps.uploadTtlSeconds, batch);
        const gone: string[] = [];
        for (const up of expired) {
          try {
            await deps.storage.delete(up.key);
            gone.push(up.id);
          } catch (err) {
            result.failed += 1;
            deps.log.warn('could not delete the file of an expired upload', { key: up.key, err });
          }
        }
        await uploadRepository.deleteUploads(tx, gone);
        result.uploads += gone.length;
        return expired.length;
      });
      if (n < batch || stopped) return;
    }
  }

  async function sweepOnce(): Promise<SweepResult> {
    const result: SweepResult = { uploads: 0, sessions: 0, failed: 0 };
    await sweepUploads(result);
    for (;;) {
      const n = await sessionRepository.deleteExpiredSessions(deps.db.write(), batch);
      result.sessions += n;
      if (n < batch || stopped) break;
    }
    if (result.uploads || result.sessions || result.failed) deps.log.info('swept expired uploads and sessions', { ...result });
    return result;
  }

  /** One sweep now; a call while one runs shares it. */
  function sweep(): Promise<SweepResult> {
    running ??= sweepOnce().finally(() => (running = undefined));
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      sweep()
        .catch((err: unknown) => deps.log.warn('sweep failed; trying again at the next interval', { err }))
        .finally(schedule);
    }, deps.intervalMs);
    timer.unref();
  }

  return {
    sweep,
    start: schedule,
    /** Stops scheduling and waits for a sweep in progress. */
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

/** The sweeper's interface. */
export type Sweeper = ReturnType<typeof createSweeper>;
