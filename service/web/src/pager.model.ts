import type { Id, Page } from './types.model.js';

/** Fetches one page of a list given the cursor of the previous page (null for the first). */
export type PageLoader<T> = (cursor: string | null) => Promise<Page<T>>;

/** The visible state of a paginated list. */
export interface PagerState<T> {
  items: T[];
  loading: boolean;
  done: boolean;
  error: unknown;
}

/**
 * Walks a cursor-paginated list one page at a time for infinite scroll: one request in flight,
 * items de-duplicated by id (a new photo can shift a page boundary), a failed page can be retried.
 */
export class Pager<T extends { id: Id }> {
  private readonly seen = new Set<Id>();
  private cursor: string | null = null;
  private inFlight: Promise<T[]> | null = null;
  private generation = 0;
  readonly state: PagerState<T> = { items: [], loading: false, done: false, error: null };

  /** Wraps a page loader. */
  constructor(private readonly load: PageLoader<T>) {}

  /** Loads the next page; returns only the items that were new. Concurrent calls share one request. */
  more(): Promise<T[]> {
    if (this.state.done) return Promise.resolve([]);
    if (this.inFlight) return this.inFlight;
    const generation = this.generation;
    this.state.loading = true;
    this.state.error = null;
    this.inFlight = this.load(this.cursor)
      .then((page) => {
        if (generation !== this.generation) return [];
        const fresh = page.items.filter((item) => !this.seen.has(item.id));
        for (const item of fresh) this.seen.add(item.id);
        this.state.items.push(...fresh);
        this.cursor = page.nextCursor;
        this.state.done = page.nextCursor === null || page.nextCursor === '';
        return fresh;
      })
      .catch((error: unknown) => {
        if (generation === this.generation) this.state.error = error;
        throw error;
      })
      .finally(() => {
        if (generation === this.generation) {
          this.state.loading = false;
          this.inFlight = null;
        }
      });
    return this.inFlight;
  }

  /** Forgets everything and starts again from the first page on the next call to more(). */
  reset(): void {
    this.generation += 1;
    this.seen.clear();
    this.cursor = null;
    this.inFlight = null;
    this.state.items.length = 0;
    Object.assign(this.state, { loading: false, done: false, error: null });
  }

  /** Puts an item at the top (a photo just uploaded), unless it is already there. */
  prepend(item: T): void {
    if (this.seen.has(item.id)) return;
    this.seen.add(item.id);
    this.state.items.unshift(item);
  }
}
