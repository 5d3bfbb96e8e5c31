// Starts the whole split-tier stack for the browser tests on 127.0.0.1: Postgres, Redis, s3rver (with CORS
// for the web origin), the web client built by Vite into a temp dir, migrations, the API and the web mode.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, startPostgres, waitFor, type PgCluster } from '../support/postgres.js';
import { startRedis, type RedisDeployment } from '../support/redis.js';
import { s3ServiceEnv, startS3, type S3Server } from '../support/s3.js';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The API's upload limit in the test stack. */
export const maxUploadBytes = 2 * 1024 * 1024;

/** A running stack; `stop()` tears everything down. */
export interface WebStack {
  apiURL: string;
  webURL: string;
  cdnBaseURL: string;
  s3: S3Server;
  /** The recent output of the API and web processes, for failure messages. */
  logs: () => string;
  stop: () => Promise<void>;
}

interface Proc {
  name: string;
  child: ChildProcess;
  output: string[];
}

function startService(name: string, mode: string, env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'service', 'main.ts'), mode], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { name, child, output };
}

async function exited(proc: Proc): Promise<number> {
  if (proc.child.exitCode !== null) return proc.child.exitCode;
  return await new Promise((resolve) => proc.child.once('exit', (code) => resolve(code ?? 1)));
}

async function stopProc(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const done = exited(proc);
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(timer);
}

/** Builds the web client with Vite into `outDir` (the same build `npm run build` makes into service/web/dist). */
export async function buildWebClient(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({ root: path.join(repoRoot, 'service', 'web'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
}

/** Starts everything; on failure, stops what was started and throws with the processes' output. */
export async function startWebStack(): Promise<WebStack> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const procs: Proc[] = [];
  const logs = (): string => procs.map((p) => `--- ${p.name}\n${p.output.slice(-40).join('\n')}`).join('\n');
  const stop = async (): Promise<void> => {
    for (const p of procs.reverse()) await stopProc(p).catch(() => undefined);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const webRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-web-'));
    cleanups.push(() => fs.rm(webRoot, { recursive: true, force: true }));
    const started = await Promise.allSettled([startPostgres(), startRedis(), startS3('photos'), buildWebClient(webRoot)]);
    for (const result of started) {
      if (result.status === 'fulfilled' && result.value) cleanups.push(() => (result.value as { stop: () => Promise<void> }).stop());
    }
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const [pg, redis, s3] = started.map((result) => (result as PromiseFulfilledResult<unknown>).value) as [PgCluster, RedisDeployment, S3Server];

    const [apiPort, webPort] = [await freePort(), await freePort()];
    const apiURL = `http://127.0.0.1:${apiPort}`;
    const webURL = `http://127.0.0.1:${webPort}`;
    const cdnBaseURL = `${s3.endpoint}/${s3.bucket}`;

    // Browsers PUT straight to the bucket from the web origin, so the bucket must answer CORS for it.
    const s3client = new S3Client({
      region: s3.region,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    await s3client.send(
      new PutBucketCorsCommand({
        Bucket: s3.bucket,
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: [webURL], AllowedMethods: ['PUT', 'GET', 'HEAD'], AllowedHeaders: ['*'], MaxAgeSeconds: 600 }] },
      }),
    );
    s3client.destroy();

    const env: NodeJS.ProcessEnv = {
      GRAMINSTA_DB_HOST: pg.primary.host,
      GRAMINSTA_DB_PORT: String(pg.primary.port),
      GRAMINSTA_DB_NAME: pg.database,
      GRAMINSTA_DB_USER: pg.user,
      GRAMINSTA_DB_PASSWORD: pg.password,
      GRAMINSTA_REDIS_MODE: 'standalone',
      GRAMINSTA_REDIS_NODES: redis.nodes.join(','),
      ...s3ServiceEnv(s3),
      GRAMINSTA_CDN_BASE_URL: cdnBaseURL,
      GRAMINSTA_PUBLIC_API_URL: apiURL,
      GRAMINSTA_TOKEN_SECRET: 'browser-test-token-secret-0123456789',
      GRAMINSTA_WEB_ROOT: webRoot,
      // Below the client's own 10 MB check, so the browser test can see the API refuse a photo.
      GRAMINSTA_MAX_UPLOAD_BYTES: String(maxUploadBytes),
      LOG_LEVEL: 'warn',
      GRAMINSTA_SHUTDOWN_DELAY_SECONDS: '0',
    };
    const migrate = startService('migrate', 'migrate', env);
    procs.push(migrate);
    const code = await exited(migrate);
    if (code !== 0) throw new Error(`migrate mode exited with ${code}`);
    procs.push(startService('api', 'api', { ...env, PORT: String(apiPort), GRAMINSTA_METRICS_PORT: String(await freePort()) }));
    procs.push(startService('web', 'web', { ...env, PORT: String(webPort), GRAMINSTA_METRICS_PORT: String(await freePort()) }));
    for (const url of [`${apiURL}/readyz`, `${webURL}/readyz`]) {
      await waitFor(url, async () => (await fetch(url)).ok, 60000, 200);
    }
    // The page calls the API from another origin (split tiers), so the API must answer CORS preflights.
    const preflight = await fetch(`${apiURL}/api/v1/users`, {
      method: 'OPTIONS',
      headers: { origin: webURL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    const allowOrigin = preflight.headers.get('access-control-allow-origin');
    if (allowOrigin !== '*' && allowOrigin !== webURL) {
      throw new Error(`the API does not answer CORS for the web origin ${webURL} (Access-Control-Allow-Origin: ${allowOrigin ?? 'missing'}); the browser cannot call it`);
    }
    return { apiURL, webURL, cdnBaseURL, s3, logs, stop };
  } catch (err) {
    const output = logs();
    await stop();
    throw new Error(`while starting the web test stack\n${output}`, { cause: err });
  }
}
