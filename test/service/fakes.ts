// In-memory fakes of the database handle, repositories, storage and cache for service unit tests (no I/O).
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { Readable } from 'node:stream';
import type { DatabaseHandle, Queryable } from '../../service/db/database.js';
import type { ObjectStorage } from '../../service/storage/storage.js';
import type { ProfileCache } from '../../service/cache/profile-cache.repository.js';
import type { Profile } from '../../service/users/user.repository.js';
import { createLogger, type Logger } from '../../service/log.js';

/** Which pool a fake query handle stands for, so fake repositories can answer differently per pool. */
export type Pool = 'primary' | 'replica' | 'tx';

/** The pool a handle from FakeDb stands for. */
export function poolOf(q: Queryable): Pool {
  return (q as unknown as { pool: Pool }).pool;
}

function handle(pool: Pool): Queryable {
  return {
    pool,
    query: () => {
      throw new Error('fake repositories never run SQL');
    },
  } as unknown as Queryable;
}

/**
 * A DatabaseHandle that records routing decisions and never talks to Postgres. It cannot see SQL, so every primary
 * handle or transaction taken for a user counts as that user's write (services take one for a user only to write).
 */
export class FakeDb implements DatabaseHandle {
  readonly writers = new Set<number>();
  readonly noted: number[] = [];
  transactions = 0;

  write(userId?: number | null): Queryable {
    this.note(userId);
    return handle('primary');
  }
  read(viewerId?: number | null): Queryable {
    return handle(this.readsFromPrimary(viewerId) ? 'primary' : 'replica');
  }
  async transaction<T>(fn: (q: Queryable) => Promise<T>, userId?: number | null): Promise<T> {
    this.transactions++;
    const result = await fn(handle('tx'));
    this.note(userId);
    return result;
  }
  readsFromPrimary(userId: number | null | undefined): boolean {
    return userId !== null && userId !== undefined && this.writers.has(userId);
  }
  private note(userId: number | null | undefined): void {
    if (userId === null || userId === undefined) return;
    this.noted.push(userId);
    this.writers.add(userId);
  }
}

/** An in-memory ObjectStorage of the given kind; `presign` makes it answer like S3. */
export class MemoryStorage implements ObjectStorage {
  readonly objects = new Map<string, { body: Buffer; contentType: string }>();
  readonly deleted: string[] = [];
  failDeletes = false;

  constructor(readonly kind: 's3' | 'volume' | 'origin' = 'volume') {}

  async presignPut(key: string, contentType: string) {
    return this.kind === 's3' ? { url: `https://s3.test/bucket/${key}?sig=put`, headers: { 'Content-Type': contentType } } : null;
  }
  async presignGet(key: string) {
    return this.kind === 's3' ? `https://s3.test/bucket/${key}?sig=get` : null;
  }
  async put(key: string, body: Buffer, contentType: string) {
    this.objects.set(key, { body, contentType });
  }
  async putStream(key: string, body: Readable, _size: number, contentType: string) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(Buffer.from(c as Buffer));
    this.objects.set(key, { body: Buffer.concat(chunks), contentType });
  }
  async stat(key: string) {
    const o = this.objects.get(key);
    return o ? { size: o.body.length, contentType: o.contentType } : null;
  }
  async head(key: string, bytes: number) {
    const o = this.objects.get(key);
    if (!o) throw new Error(`while opening ${key}`);
    return o.body.subarray(0, bytes);
  }
  async get(key: string) {
    const o = this.objects.get(key);
    return o ? { body: Readable.from([o.body]), size: o.body.length, contentType: o.contentType } : null;
  }
  async promote(from: string, to: string, contentType: string) {
    const o = this.objects.get(from);
    if (!o) throw new Error(`while moving ${from}`);
    this.objects.set(to, { body: o.body, contentType });
    this.objects.delete(from);
  }
  async delete(key: string) {
    if (this.failDeletes) throw new Error(`while deleting ${key}`);
    this.deleted.push(key);
    this.objects.delete(key);
  }
}

/** A ProfileCache in memory; `down` makes it behave like an unreachable Redis (get resolves undefined). */
export class MemoryCache implements ProfileCache {
  readonly entries = new Map<number, Profile>();
  readonly dels: number[] = [];
  sets = 0;
  down = false;
  /** Bumped by every del, as the near cache's epoch is. */
  invalidations = 0;

  async get(id: number) {
    if (this.down) return undefined;
    return this.entries.get(id) ?? null;
  }
  /** As a near tier in front of the entries would answer. */
  held(id: number) {
    return this.down ? undefined : this.entries.get(id);
  }
  async set(id: number, profile: Profile, since?: number) {
    if (this.down || (since !== undefined && since !== this.invalidations)) return;
    this.sets++;
    this.entries.set(id, profile);
  }
  version() {
    return this.invalidations;
  }
  async del(id: number) {
    this.invalidations++;
    this.dels.push(id);
    this.entries.delete(id);
  }
  ready() {
    return !this.down;
  }
  async close() {}
}

/** A logger that keeps its lines for assertions. */
export function memoryLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger('debug', {}, (l) => lines.push(JSON.parse(l) as Record<string, unknown>)), lines };
}

/** Grey pixel rows of random bytes, each after filter byte 0 (incompressible: the PNG is about width·height bytes). */
function randomRows(width: number, height: number): Buffer {
  const rows = crypto.randomBytes(height * (width + 1));
  for (let y = 0; y < height; y++) rows[y * (width + 1)] = 0;
  return rows;
}

/** A complete valid 8-bit grey PNG of the given size (zero pixels, or random ones with `noise`). */
export function pngBytes(width = 2, height = 3, noise = false): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])));
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (grey)
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(noise ? randomRows(width, height) : Buffer.alloc(height * (width + 1)))), chunk('IEND', Buffer.alloc(0))]);
}
