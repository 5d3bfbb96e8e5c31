// The in-process near cache in front of Redis: a bounded map with per-entry expiry and an eviction epoch.

/** Bounded in-memory copies with expiry; every eviction bumps `epoch`, so a fill that raced an eviction can be refused. */
export class NearCache<V> {
  private readonly entries = new Map<number, { value: V; expiresAt: number }>();
  private evictions = 0;
  private deletions = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts evictions (single ids and resets); a fill started at epoch e may be stored only while epoch is still e. */
  get epoch(): number {
    return this.evictions;
  }

  /** Counts single-id evictions only (a write somewhere), not resets. */
  get deleted(): number {
    return this.deletions;
  }

  /** Entries held (expired ones included until touched). */
  get size(): number {
    return this.entries.size;
  }

  /** The value of `id` if held and not expired. */
  get(id: number): V | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return e.value;
  }

  /** Keeps `value` until `expiresAt` unless an eviction happened since `epoch`; drops the oldest entry when full. */
  set(id: number, value: V, expiresAt: number, epoch: number): boolean {
    if (epoch !== this.evictions || expiresAt <= this.now()) return false;
    this.entries.delete(id);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(id, { value, expiresAt });
    return true;
  }

  /** Evicts `id`. */
  delete(id: number): void {
    this.evictions++;
    this.deletions++;
    this.entries.delete(id);
  }

  /** Evicts everything (the invalidation channel may have lost messages). */
  clear(): void {
    this.evictions++;
    this.entries.clear();
  }
}
