// Fits a GraminstaApp to the real node on this machine, through its spec only (never the presets):
// volumes on the node's local volume class, Debian's PostgreSQL 15 (the version the image built here
// has), S3 on an endpoint the node's pods can reach, and — for tests that run many tiers on the
// node's 2 cores — small resource requests and few autoscaled replicas.
// CLI: tsx hack/node/fit-app.ts APP.yaml [--small] prints the fitted app as JSON (hack/run.sh uses it).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** A GraminstaApp spec, loosely typed: fields the fitting does not touch pass through unchanged. */
export type Spec = Record<string, unknown>;

/** The real node's local volume class (hack/node/addons.sh; provisioned by the local volume fixture). */
export const NODE_STORAGE_CLASS = 'graminsta-local';
/** The PostgreSQL major version of the image built here from Debian's packages. */
export const NODE_POSTGRES_VERSION = '15';
/** Requests small enough for every stage's tiers to fit on 2 cores. */
export const SMALL_RESOURCES = { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '512Mi' } };

/** How to fit: shrink requests (tests), and an S3 server the pods can reach (bucket and endpoint). */
export interface FitOptions {
  small?: boolean;
  s3?: { bucket: string; endpoint: string };
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

/** Returns a copy of `spec` fitted to the real node. */
export function fitToNode(spec: Spec, opts: FitOptions = {}): Spec {
  const out = structuredClone(spec) as Obj;
  const db = obj(out.database);
  if (!db.external) {
    db.version = NODE_POSTGRES_VERSION;
    db.storage = { ...obj(db.storage), storageClassName: NODE_STORAGE_CLASS, ...(opts.small ? { size: '1Gi' } : {}) };
    out.database = db;
  }
  if (out.cache) {
    const cache = obj(out.cache);
    cache.storage = { ...obj(cache.storage), storageClassName: NODE_STORAGE_CLASS };
    out.cache = cache;
  }
  const origin = obj(obj(out.cdn).origin);
  if (origin.volume) origin.volume = { ...obj(origin.volume), storageClassName: NODE_STORAGE_CLASS, ...(opts.small ? { size: '1Gi' } : {}) };
  if (origin.s3 && opts.s3) origin.s3 = { ...obj(origin.s3), bucket: opts.s3.bucket, endpoint: opts.s3.endpoint };
  if (opts.small) {
    for (const tier of ['api', 'web', 'database', 'cache']) {
      const t = obj(out[tier]);
      // A tier the spec leaves to the stage preset stays so: setting its resources would turn it on at every stage.
      if ((tier === 'web' && (!out.web || t.enabled === false)) || (tier === 'cache' && !out.cache) || (tier === 'database' && db.external)) continue;
      out[tier] = { ...t, resources: SMALL_RESOURCES };
    }
    // Autoscaled tiers start at their minimum: keep the node's pod count small.
    for (const tier of ['api', 'web']) {
      const a = obj(out[tier]).autoscaling as { minReplicas?: number; maxReplicas?: number } | undefined;
      if (!a) continue;
      a.minReplicas = Math.min(a.minReplicas ?? 1, 2);
      a.maxReplicas = Math.max(a.minReplicas, Math.min(a.maxReplicas ?? 2, 4));
    }
  }
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const [file, ...flags] = process.argv.slice(2);
  if (!file) {
    console.error('usage: tsx hack/node/fit-app.ts APP.yaml [--small]');
    process.exit(2);
  }
  const app = parse(readFileSync(file, 'utf8')) as { spec?: Spec };
  app.spec = fitToNode(app.spec ?? {}, { small: flags.includes('--small') });
  console.log(JSON.stringify(app));
}
