// Shapes of the JSON the API answers with (docs/api.md), as the client uses them.

/** An id as the API sends it (numbers today; strings are accepted so the client does not care). */
export type Id = number | string;

/** A user as the API returns it from /users/:username, /me, /users and /sessions. */
export interface User {
  id: Id;
  username: string;
  displayName: string;
  bio: string;
  followers: number;
  following: number;
  photos: number;
  createdAt: string;
  followedByMe?: boolean;
}

/** The author summary embedded in every photo. */
export interface Author {
  id: Id;
  username: string;
  displayName: string;
}

/** A photo as the API returns it; imageUrl is already on the CDN base URL when one is configured. */
export interface Photo {
  id: Id;
  author: Author;
  caption: string;
  imageUrl: string;
  thumbnailUrl?: string;
  width?: number;
  height?: number;
  likes: number;
  likedByMe?: boolean;
  createdAt: string;
}

/** One page of a cursor-paginated list. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The answer to sign-up and log-in. */
export interface Session {
  user: User;
  token: string;
}

/** The answer to POST /uploads: where and how to send the bytes. */
export interface UploadTicket {
  uploadId: string;
  method: string;
  url: string;
  headers: Record<string, string>;
}

/** What the web mode serves at /config.json. */
export interface WebConfig {
  apiBaseURL: string;
  cdnBaseURL: string;
}
