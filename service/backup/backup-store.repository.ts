// The bucket that holds the database's backups: streamed multipart uploads, listings, downloads, deletions.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { s3Client } from '../storage/s3.storage.js';
import { BackupError, type BackupLocation, type ListedObject } from './backups.js';

/** How to reach the bucket; credentials omitted: the SDK's default chain (pod identity). */
export interface BackupStoreOptions extends BackupLocation {
  region: string;
  endpoint: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Bytes per uploaded part (at least 5 MiB, S3's minimum); one part is held in memory at a time. */
  partSize?: number;
}

/** The operations backup and restore need on the bucket. */
export interface BackupStore {
  /** Where the store is, for messages: s3://bucket/prefix at endpoint. */
  readonly where: string;
  list(): Promise<ListedObject[]>;
  /** Streams `body` into `key` part by part; resolves with the bytes stored. Aborts the upload when `body` fails or `accept` says no at its end. */
  upload(key: string, body: AsyncIterable<Buffer>, accept: () => Promise<void>): Promise<number>;
  putJson(key: string, value: unknown): Promise<void>;
  getJson<T>(key: string): Promise<T>;
  download(key: string): Promise<Readable>;
  delete(keys: string[]): Promise<void>;
}

const MIN_PART = 5 * 1024 * 1024;

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** A BackupError naming the problem: credentials refused, a bucket that is missing or cannot be reached. */
export function describeS3Error(err: unknown, what: string, where: string): Error {
  if (err instanceof BackupError) return err;
  const e = err as { name?: string; code?: string; message?: string };
  const status = statusOf(err);
  const name = e?.name ?? e?.code ?? '';
  if (name === 'CredentialsProviderError') {
    return new BackupError('CredentialsMissing', `${what}: no credentials for ${where}: give the credentials Secret the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`, { cause: err });
  }
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'].includes(name) || status === 403) {
    return new BackupError('CredentialsRejected', `${what}: ${where} refused the credentials (${name || status}): check the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the credentials Secret`, { cause: err });
  }
  if (name === 'NoSuchBucket') return new BackupError('BucketUnreachable', `${what}: the bucket of ${where} does not exist`, { cause: err });
  if (name === 'NoSuchKey' || status === 404) return new BackupError('BackupNotFound', `${what}: not found in ${where}`, { cause: err });
  if (status === undefined) {
    return new BackupError('BucketUnreachable', `${what}: cannot reach ${where}: ${e?.code ?? name} ${e?.message ?? String(err)}`.trim(), { cause: err });
  }
  return new Error(`${what} at ${where}: ${name} (HTTP ${status})`, { cause: err });
}

/** Chunks of `size` bytes (the last one shorter) from a stream of buffers of any size. */
async function* parts(body: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    held.push(chunk);
    bytes += chunk.length;
    while (bytes >= size) {
      const all = Buffer.concat(held);
      yield all.subarray(0, size);
      held = [all.subarray(size)];
      bytes -= size;
    }
  }
  if (bytes > 0 || held.length === 0) yield Buffer.concat(held);
}

/** The backup bucket over the S3 API (AWS or an S3-compatible server). */
export function backupStore(opts: BackupStoreOptions): BackupStore {
  const client = s3Client(opts, { maxAttempts: 3 });
  const Bucket = opts.bucket;
  const where = `s3://${opts.bucket}/${opts.prefix}${opts.endpoint ? ` at ${opts.endpoint}` : ''}`;
  const partSize = Math.max(MIN_PART, opts.partSize ?? 16 * 1024 * 1024);
  const send = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw describeS3Error(err, what, where);
    }
  };
  return {
    where,
    async list() {
      const out: ListedObject[] = [];
      let token: string | undefined;
      do {
        const res = await send('while listing the backups', () =>
          client.send(new ListObjectsV2Command({ Bucket, Prefix: opts.prefix ? `${opts.prefix}/` : undefined, ContinuationToken: token })),
        );
        for (const o of res.Contents ?? []) if (o.Key) out.push({ key: o.Key, lastModified: o.LastModified ?? new Date(0) });
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
    async upload(key, body, accept) {
      const created = await send(`while starting the upload of ${key}`, () => client.send(new CreateMultipartUploadCommand({ Bucket, Key: key, ContentType: 'application/octet-stream' })));
      const UploadId = created.UploadId!;
      const done: CompletedPart[] = [];
      let size = 0;
      try {
        for await (const part of parts(body, partSize)) {
          const PartNumber = done.length + 1;
          const res = await send(`while uploading part ${PartNumber} of ${key}`, () => client.send(new UploadPartCommand({ Bucket, Key: key, UploadId, PartNumber, Body: part, ContentLength: part.length })));
          done.push({ PartNumber, ETag: res.ETag });
          size += part.length;
        }
        await accept();
        await send(`while completing the upload of ${key}`, () => client.send(new CompleteMultipartUploadCommand({ Bucket, Key: key, UploadId, MultipartUpload: { Parts: done } })));
        return size;
      } catch (err) {
        await client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId })).catch(() => undefined);
        throw err;
      }
    },
    async putJson(key, value) {
      const Body = JSON.stringify(value, null, 2) + '\n';
      await send(`while writing ${key}`, () => client.send(new PutObjectCommand({ Bucket, Key: key, Body, ContentType: 'application/json' })));
    },
    async getJson<T>(key: string) {
      const res = await send(`while reading ${key}`, () => client.send(new GetObjectCommand({ Bucket, Key: key })));
      return JSON.parse(await res.Body!.transformToString()) as T;
    },
    async download(key) {
      const res = await send(`while downloading ${key}`, () => client.send(new GetObjectCommand({ Bucket, Key: key })));
      return res.Body as Readable;
    },
    async delete(keys) {
      // One by one: DeleteObjects needs a Content-MD5 that not every S3-compatible server checks the same way.
      for (const Key of keys) await send(`while deleting ${Key}`, () => client.send(new DeleteObjectCommand({ Bucket, Key })));
    },
  };
}
