// The interface every image storage driver implements.
import type { Readable } from 'node:stream';

/** An object read back from storage. */
export interface StoredObject {
  body: Readable;
  size: number;
  contentType: string;
}

/** Where image bytes live: S3, a local volume, or an origin service over HTTP. */
export interface ObjectStorage {
  readonly kind: 's3' | 'volume' | 'origin';
  /** A presigned PUT the client uploads to directly, or null when uploads go through the API. */
  presignPut(key: string, contentType: string, size: number): Promise<{ url: string; headers: Record<string, string> } | null>;
  /** A short-lived URL to read the object directly, or null when the API must stream it. */
  presignGet(key: string): Promise<string | null>;
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** Writes `size` bytes streamed from `body` (copies between stores without holding the image in memory). */
  putStream(key: string, body: Readable, size: number, contentType: string): Promise<void>;
  /** The object's size and the Content-Type it was stored with (on S3 the client's presigned PUT chose it), or null when it does not exist. */
  stat(key: string): Promise<{ size: number; contentType: string } | null>;
  /** Up to `bytes` leading bytes of the object. */
  head(key: string, bytes: number): Promise<Buffer>;
  /** The object, or null when it does not exist. */
  get(key: string): Promise<StoredObject | null>;
  delete(key: string): Promise<void>;
  /** Moves the object `from` to `to` (a pending upload becoming a photo), stored as `contentType`. */
  promote(from: string, to: string, contentType: string): Promise<void>;
}

/** The object's size, or null when it does not exist. */
export async function objectSize(storage: ObjectStorage, key: string): Promise<number | null> {
  return (await storage.stat(key))?.size ?? null;
}
