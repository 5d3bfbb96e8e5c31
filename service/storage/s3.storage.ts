// Image storage in an S3 bucket; clients upload with presigned PUT URLs.
import { S3Client, CopyObjectCommand, PutObjectCommand, HeadObjectCommand, GetObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { assertKey, contentTypeOfKey } from './keys.js';
import type { ObjectStorage } from './storage.js';

/** S3 settings; credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). */
export interface S3StorageOptions {
  bucket: string;
  region: string;
  endpoint: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** An S3 client for these settings (also the backups' store). */
export function s3Client(opts: Omit<S3StorageOptions, 'bucket'>, extra: { maxAttempts?: number } = {}): S3Client {
  return new S3Client({
    region: opts.region,
    endpoint: opts.endpoint || undefined,
    forcePathStyle: opts.forcePathStyle,
    credentials: opts.credentials,
    // A streamed PUT with a default checksum goes out aws-chunked, which S3-compatible servers (s3rver, older MinIO) store verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    ...extra,
  });
}

/** An ObjectStorage on S3 (or any S3-compatible server). */
export function s3Storage(opts: S3StorageOptions): ObjectStorage {
  const client = s3Client(opts);
  const Bucket = opts.bucket;
  return {
    kind: 's3',
    async presignPut(key, contentType, size) {
      assertKey(key);
      // Content-Type is signed (the SDK leaves it out by default), so a PUT declaring another type fails the signature.
      const url = await getSignedUrl(client, new PutObjectCommand({ Bucket, Key: key, ContentType: contentType, ContentLength: size }), { expiresIn: 900, signableHeaders: new Set(['content-type']) });
      return { url, headers: { 'Content-Type': contentType } };
    },
    async presignGet(key) {
      assertKey(key);
      // The bucket answers with the type named here, whatever the object was stored with (and the browser must not sniff).
      return await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: key, ResponseContentType: contentTypeOfKey(key) }), { expiresIn: 3600 });
    },
    async put(key, body, contentType) {
      assertKey(key);
      try {
        await client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: contentType }));
      } catch (err) {
        throw new Error(`while writing s3://${Bucket}/${key}`, { cause: err });
      }
    },
    async putStream(key, body, size, contentType) {
      assertKey(key);
      try {
        await client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ContentLength: size, ContentType: contentType }));
      } catch (err) {
        throw new Error(`while writing s3://${Bucket}/${key}`, { cause: err });
      }
    },
    async stat(key) {
      assertKey(key);
      try {
        const res = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { size: res.ContentLength ?? 0, contentType: res.ContentType ?? 'application/octet-stream' };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw new Error(`while reading the metadata of s3://${Bucket}/${key}`, { cause: err });
      }
    },
    async head(key, bytes) {
      assertKey(key);
      try {
        const res = await client.send(new GetObjectCommand({ Bucket, Key: key, Range: `bytes=0-${bytes - 1}` }));
        return Buffer.from(await res.Body!.transformToByteArray());
      } catch (err) {
        throw new Error(`while reading the start of s3://${Bucket}/${key}`, { cause: err });
      }
    },
    async get(key) {
      assertKey(key);
      try {
        const res = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        return { body: res.Body as Readable, size: res.ContentLength ?? 0, contentType: res.ContentType ?? 'application/octet-stream' };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw new Error(`while reading s3://${Bucket}/${key}`, { cause: err });
      }
    },
    async promote(from, to, contentType) {
      assertKey(from);
      assertKey(to);
      try {
        await client.send(new CopyObjectCommand({ Bucket, Key: to, CopySource: `${Bucket}/${from}`, ContentType: contentType, MetadataDirective: 'REPLACE' }));
        await client.send(new DeleteObjectCommand({ Bucket, Key: from }));
      } catch (err) {
        throw new Error(`while moving s3://${Bucket}/${from} to ${to}`, { cause: err });
      }
    },
    async delete(key) {
      assertKey(key);
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
      } catch (err) {
        throw new Error(`while deleting s3://${Bucket}/${key}`, { cause: err });
      }
    },
  };
}
