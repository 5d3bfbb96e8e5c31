// The in-process window counter: the limiter's store without Redis, and its fallback while Redis fails.

/** Counts hits per window key in memory, dropping ended windows; holds at most `maxKeys` keys (the oldest go first). */
export class MemoryWindowStore {
  private readonly counts = new Map<string, { count: number; expiresAtMs: number }>();

  constructor(private readonly maxKeys = 100_000) {}

  /** Counts one hit on `key`, whose window ends at `expiresAtMs`; returns the count including this hit. */
  hit(key: string, expiresAtMs: number, nowMs: number): number {
    const entry = this.counts.get(key);
    if (entry && entry.expiresAtMs > nowMs) return ++entry.count;
    this.counts.delete(key);
    if (this.counts.size >= this.maxKeys) this.evict(nowMs);
    this.counts.set(key, { count: 1, expiresAtMs });
    return 1;
  }

  /** How many keys are held (for tests and the bound). */
  get size(): number {
    return this.counts.size;
  }

  private evict(nowMs: number): void {
    for (const [k, v] of this.counts) if (v.expiresAtMs <= nowMs) this.counts.delete(k);
    // Still full: Map iteration is insertion order, so the first key is the oldest.
    while (this.counts.size >= this.maxKeys) this.counts.delete(this.counts.keys().next().value!);
  }
}
