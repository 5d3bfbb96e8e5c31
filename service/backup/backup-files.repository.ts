// The files backup and restore share with Postgres in their pod: the dump pipe and its status (backup), the fetched
// dump beside the data directory (restore).
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** How long to wait for the dump container: its pipe, and its status after the pipe ended. */
export interface PipeTimeouts {
  pipeMs: number;
  statusMs: number;
  pollMs?: number;
}

async function waitForFile(file: string, timeoutMs: number, pollMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fs.stat(file);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`while waiting for ${file}`, { cause: err });
    }
    if (Date.now() > until) throw new Error(`${what}: ${file} did not appear within ${Math.round(timeoutMs / 1000)}s`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The dump container's side of a backup in `dir` (postgres-backup.sh): dump.fifo, then dump.status and dump.err. */
export function dumpPipe(dir: string, timeouts: PipeTimeouts) {
  const poll = timeouts.pollMs ?? 200;
  return {
    /** The dump's bytes, once the dump container has made the pipe. */
    async open(): Promise<Readable> {
      const fifo = path.join(dir, 'dump.fifo');
      await waitForFile(fifo, timeouts.pipeMs, poll, 'the dump container made no pipe');
      return createReadStream(fifo, { highWaterMark: 1024 * 1024 });
    },
    /** Opens the pipe and closes it unread, so that a dump the upload will not take ends (SIGPIPE) instead of waiting forever. */
    async discard(): Promise<void> {
      const stream = await this.open();
      await new Promise<void>((resolve) => {
        stream.once('open', () => resolve());
        stream.once('error', () => resolve());
      });
      stream.destroy();
    },
    /** pg_dump's exit status and the end of its messages, once the dump container has written them. */
    async status(): Promise<{ code: number; messages: string }> {
      const file = path.join(dir, 'dump.status');
      await waitForFile(file, timeouts.statusMs, poll, 'the dump container reported no status');
      const code = Number((await fs.readFile(file, 'utf8')).trim());
      const messages = await fs.readFile(path.join(dir, 'dump.err'), 'utf8').catch(() => '');
      return { code: Number.isInteger(code) ? code : 1, messages: messages.trim().split('\n').slice(-5).join('\n') };
    },
  };
}

/** The restore side on the database volume: PGDATA (to tell whether a database exists) and the restore directory. */
export function restoreFiles(pgdata: string, dir: string) {
  return {
    /** Whether the volume already holds a database cluster. */
    async hasDatabase(): Promise<boolean> {
      return fs.stat(path.join(pgdata, 'PG_VERSION')).then(
        () => true,
        () => false,
      );
    },
    /** The backup an earlier start restored this volume from (postgres-primary.sh records it), if any. */
    async restoredFrom(): Promise<string | null> {
      return fs.readFile(path.join(dir, 'restored-from'), 'utf8').then(
        (s) => s.trim() || null,
        () => null,
      );
    },
    /** The name of a dump fetched before that postgres has not loaded yet. */
    async fetched(): Promise<string | null> {
      const name = await fs.readFile(path.join(dir, 'restore.name'), 'utf8').catch(() => '');
      if (!name.trim()) return null;
      return (await fs.stat(path.join(dir, 'restore.pgdump')).then(() => true, () => false)) ? name.trim() : null;
    },
    /** Writes the dump streamed from `body` as restore.pgdump (through a partial file), then names it in restore.name. */
    async write(name: string, body: Readable): Promise<number> {
      // Postgres (another uid) reads the dump and then deletes and renames in this directory. The pod's fsGroup
      // would make group access enough, but volumes that ignore fsGroup (hostPath, kind's local-path) keep the
      // creator's group: so open to every user of the volume, which only this pod's containers mount.
      await fs.mkdir(dir, { recursive: true });
      await fs.chmod(dir, 0o777);
      const partial = path.join(dir, 'restore.pgdump.partial');
      await pipeline(body, createWriteStream(partial));
      await fs.chmod(partial, 0o644);
      const { size } = await fs.stat(partial);
      await fs.rename(partial, path.join(dir, 'restore.pgdump'));
      await fs.writeFile(path.join(dir, 'restore.name'), `${name}\n`);
      await fs.chmod(path.join(dir, 'restore.name'), 0o644);
      return size;
    },
  };
}

/** Writes the message Kubernetes shows as the container's termination message (its terminationMessagePath), when that file can be written. */
export async function writeTerminationMessage(file: string, message: string): Promise<void> {
  if (!file) return;
  await fs.writeFile(file, message.slice(0, 4000)).catch(() => undefined);
}
