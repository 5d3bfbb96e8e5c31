import type { ApiClient } from './api.client.js';
import type { SessionStore } from './session.store.js';
import type { WebConfig } from './types.model.js';

/** What every screen gets: the API, the config, who is logged in, and a few app-wide actions. */
export interface AppContext {
  api: ApiClient;
  config: WebConfig;
  session: SessionStore;
  /** Goes to a hash route ("#/u/alice"). */
  navigate(href: string): void;
  /** Shows a short message in the toast and reads it to screen readers. */
  notify(message: string, kind?: 'info' | 'error'): void;
  /** Turns any error into a sentence for people; an expired session also logs out and goes to the log-in page. */
  explain(error: unknown): string;
  /** The current time (injectable so screens stay testable). */
  now(): Date;
}

/** What a screen hands to the shell: its element, its document title, and how to clean up. */
export interface Screen {
  element: HTMLElement;
  title: string;
  dispose?: () => void;
}
