// Starts an in-process S3-compatible server (s3rver) on a free loopback port with a temp directory.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { freePort } from './postgres.js';

/** A running S3-compatible endpoint with one bucket; s3rver accepts the credentials S3RVER/S3RVER. */
export interface S3Server {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  directory: string;
  /** Stops the server and removes its directory. */
  stop: () => Promise<void>;
}

/** The service's settings (GRAMINSTA_STORAGE=s3 and the rest) for the server's bucket. */
export function s3ServiceEnv(s3: S3Server): Record<string, string> {
  return {
    GRAMINSTA_STORAGE: 's3',
    GRAMINSTA_S3_BUCKET: s3.bucket,
    GRAMINSTA_S3_REGION: s3.region,
    GRAMINSTA_S3_ENDPOINT: s3.endpoint,
    GRAMINSTA_S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
}

/** Starts s3rver with `bucket` created on `address` (loopback, or the real node's address for pods); call `stop()` when done. */
export async function startS3(bucket = 'photos', address = '127.0.0.1'): Promise<S3Server> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-s3-'));
  const port = await freePort();
  const server = new S3rver({ port, address, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  await server.run();
  return {
    endpoint: `http://${address}:${port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory,
    stop: async () => {
      await server.close();
      await fs.rm(directory, { recursive: true, force: true });
    },
  };
}
