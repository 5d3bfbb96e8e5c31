// The bench's load generator, run as its own process: reads one workload from the JSON file named by argv[2], runs autocannon, prints the result as JSON.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { zipfSampler, type LoadResult, type Workload } from './workload.js';

interface AutocannonResult {
  requests: { total: number; average: number };
  duration: number;
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Req = { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer };
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

async function main(): Promise<void> {
  const w = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as Workload;
  const body = w.bodyBase64 ? Buffer.from(w.bodyBase64, 'base64') : undefined;
  const base: Req = { method: w.method ?? 'GET', path: w.path ?? '/', headers: w.headers ?? {}, ...(body ? { body } : {}) };
  const opts: Record<string, unknown> = { url: w.url, connections: w.connections, duration: w.seconds, method: base.method, headers: base.headers, ...(body ? { body } : {}) };
  if (w.zipf) {
    const { prefix } = w.zipf;
    const next = zipfSampler(w.zipf.n, w.zipf.s);
    opts.requests = [{ setupRequest: (req: Req) => ({ ...req, path: `${prefix}${next()}` }) }];
  } else if (w.paths) {
    const paths = w.paths;
    let i = 0;
    opts.amount = paths.length;
    delete opts.duration;
    opts.requests = [{ setupRequest: (req: Req) => ({ ...req, path: paths[i++ % paths.length] }) }];
  } else {
    opts.requests = [{ path: base.path }];
  }
  const r = await autocannon(opts);
  const out: LoadResult = { requests: r.requests.total, seconds: r.duration, rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts };
  process.stdout.write(JSON.stringify(out) + '\n');
}

await main();
