import { ApiError, networkError, parseApiError } from './api-error.model.js';
import type { Id, Page, Photo, Session, UploadTicket, User } from './types.model.js';

/** The subset of fetch the client needs (injectable for tests). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** How the client reaches the API. */
export interface ApiClientOptions {
  baseURL: string;
  getToken: () => string | null;
  fetch?: FetchLike;
}

/** Builds `<base>/api/v1/<path>?query`, skipping null or empty query values. */
export function apiUrl(baseURL: string, path: string, query: Record<string, string | number | null | undefined> = {}): string {
  const url = new URL(`${baseURL.replace(/\/+$/, '')}/api/v1/${path.replace(/^\/+/, '')}`);
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== '') url.searchParams.set(key, String(value));
  }
  return url.toString();
}

/** A typed client for the Graminsta HTTP API v1 (docs/api.md). */
export class ApiClient {
  private readonly fetchFn: FetchLike;

  /** Wraps the API at options.baseURL. */
  constructor(private readonly options: ApiClientOptions) {
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The API's base URL. */
  get baseURL(): string {
    return this.options.baseURL;
  }

  /** Creates an account and logs it in. */
  signUp(input: { username: string; password: string; displayName?: string }): Promise<Session> {
    return this.request('POST', 'users', { body: input });
  }

  /** Logs in with a username and password. */
  logIn(input: { username: string; password: string }): Promise<Session> {
    return this.request('POST', 'sessions', { body: input });
  }

  /** Revokes the current token. */
  logOut(): Promise<void> {
    return this.request('DELETE', 'sessions/current');
  }

  /** The logged-in user. */
  async me(): Promise<User> {
    return (await this.request<{ user: User }>('GET', 'me')).user;
  }

  /** Changes the logged-in user's display name or bio. */
  async updateMe(input: { displayName?: string; bio?: string }): Promise<User> {
    return (await this.request<{ user: User }>('PATCH', 'me', { body: input })).user;
  }

  /** A public profile. */
  async user(username: string): Promise<User> {
    return (await this.request<{ user: User }>('GET', `users/${encodeURIComponent(username)}`)).user;
  }

  /** Follows a user. */
  follow(username: string): Promise<void> {
    return this.request('PUT', `users/${encodeURIComponent(username)}/follow`);
  }

  /** Stops following a user. */
  unfollow(username: string): Promise<void> {
    return this.request('DELETE', `users/${encodeURIComponent(username)}/follow`);
  }

  /** Asks where to send an image of this type and size. */
  createUpload(input: { contentType: string; size: number }): Promise<UploadTicket> {
    return this.request('POST', 'uploads', { body: input });
  }

  /** Turns a finished upload into a photo. */
  async createPhoto(input: { uploadId: string; caption?: string }): Promise<Photo> {
    return (await this.request<{ photo: Photo }>('POST', 'photos', { body: input })).photo;
  }

  /** One photo. */
  async photo(id: Id): Promise<Photo> {
    return (await this.request<{ photo: Photo }>('GET', `photos/${encodeURIComponent(String(id))}`)).photo;
  }

  /** Deletes one of your photos. */
  deletePhoto(id: Id): Promise<void> {
    return this.request('DELETE', `photos/${encodeURIComponent(String(id))}`);
  }

  /** A page of a user's photos, newest first. */
  userPhotos(username: string, cursor: string | null, limit = 12): Promise<Page<Photo>> {
    return this.request('GET', `users/${encodeURIComponent(username)}/photos`, { query: { limit, cursor } });
  }

  /** A page of the logged-in user's feed, newest first. */
  feed(cursor: string | null, limit = 10): Promise<Page<Photo>> {
    return this.request('GET', 'feed', { query: { limit, cursor } });
  }

  /** Likes a photo. */
  like(id: Id): Promise<void> {
    return this.request('PUT', `photos/${encodeURIComponent(String(id))}/like`);
  }

  /** Takes a like back. */
  unlike(id: Id): Promise<void> {
    return this.request('DELETE', `photos/${encodeURIComponent(String(id))}/like`);
  }

  private async request<T>(
    method: string,
    path: string,
    opts: { body?: unknown; query?: Record<string, string | number | null | undefined> } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = this.options.getToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchFn(apiUrl(this.options.baseURL, path, opts.query), {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
    } catch (cause) {
      throw networkError(cause);
    }
    const text = await response.text().catch(() => '');
    const body = parseJson(text);
    if (!response.ok) throw parseApiError(response.status, body);
    if (response.status === 204 || text === '') return undefined as T;
    if (body === undefined) throw new ApiError('The server sent an answer the page could not read.', response.status, 'bad_response');
    return body as T;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
