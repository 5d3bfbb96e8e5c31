import type { User } from './types.model.js';

const tokenKey = 'graminsta.token';

/** Who is logged in: the bearer token (kept in localStorage across reloads) and the user it belongs to. */
export class SessionStore {
  private userValue: User | null = null;
  private readonly listeners = new Set<() => void>();

  /** Reads the saved token from storage. */
  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>) {}

  /** The bearer token, or null when logged out. */
  get token(): string | null {
    return this.storage.getItem(tokenKey);
  }

  /** The logged-in user once known. */
  get user(): User | null {
    return this.userValue;
  }

  /** Records a fresh log-in. */
  start(token: string, user: User): void {
    this.storage.setItem(tokenKey, token);
    this.userValue = user;
    this.emit();
  }

  /** Updates the user (after GET /me or PATCH /me). */
  setUser(user: User): void {
    this.userValue = user;
    this.emit();
  }

  /** Forgets the token and the user. */
  end(): void {
    this.storage.removeItem(tokenKey);
    this.userValue = null;
    this.emit();
  }

  /** Calls back whenever who is logged in changes. */
  subscribe(listener: () => void): void {
    this.listeners.add(listener);
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}
