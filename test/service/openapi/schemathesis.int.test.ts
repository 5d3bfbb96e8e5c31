// The OpenAPI document against the live service: Schemathesis (what outside checkers run) generates valid and invalid
// requests for every operation from /openapi.json, and every check must pass — no 5xx, no undocumented status, header,
// content type or body, no valid request refused and no invalid one accepted.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, type Stack } from '../harness.js';
import { buildOpenApiDocument } from '../../../service/openapi/openapi.document.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Where hack/setup.sh installs Schemathesis. */
const SCHEMATHESIS = process.env.GRAMINSTA_SCHEMATHESIS ?? path.join(os.homedir(), '.cache/graminsta/schemathesis-venv/bin/schemathesis');
// A run takes about a minute on an idle machine; the limit leaves room for a loaded one (2 cores shared by several suites).
const RUN_LIMIT_MS = 600_000;

interface Run {
  code: number | null;
  output: string;
  seconds: number;
}

/** Runs Schemathesis against `url` with every check and phase, a fixed seed and `examples` per operation; killed after RUN_LIMIT_MS. */
function schemathesis(url: string, examples: number): Promise<Run> {
  const args = ['--config-file', path.join(HERE, 'schemathesis.toml'), 'run', `${url}/openapi.json`, '--url', url, '--checks', 'all', '--phases', 'examples,coverage,fuzzing,stateful', '--max-examples', String(examples), '--seed', '20261202', '--workers', '1', '--request-timeout', '30', '--no-color'];
  const start = Date.now();
  // One worker: Hypothesis' lambda descriptions parse source with ast, which CPython 3.11 does not survive from several threads.
  // Its working directory is a scratch one: Schemathesis leaves a .schemathesis/ cache there.
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'graminsta-st-'));
  const child = spawn(SCHEMATHESIS, args, { cwd, env: { ...process.env, GRAMINSTA_ST_URL: url, SCHEMATHESIS_HOOKS: 'schemathesis_hooks', PYTHONPATH: HERE }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      fs.rmSync(cwd, { recursive: true, force: true });
      resolve({ code, output, seconds: (Date.now() - start) / 1000 });
    });
  });
}

/** The summary and the findings of a run, without the tracebacks of errors (kept to the first lines). */
function findings(output: string): string {
  return output
    .split('\n')
    .filter((l) => l.length < 400)
    .join('\n')
    .slice(-12000);
}

/** Starts the service with `storage` and rate limits on (so their headers are checked) but far above what a run sends. */
function start(storage: 'volume' | 's3'): Promise<Stack> {
  const high = '100000';
  const limits = ['LOGIN_PER_IP', 'LOGIN_PER_ACCOUNT', 'SIGNUP_PER_IP', 'UPLOADS_PER_IP', 'UPLOADS_PER_ACCOUNT'];
  return startStack({ replica: false, redis: 'none', storage, extraEnv: { GRAMINSTA_RATE_LIMITS_ENABLED: 'true', ...Object.fromEntries(limits.map((l) => [`GRAMINSTA_RATE_LIMIT_${l}`, high])) } });
}

/** Runs Schemathesis against the stack and fails with its findings unless every operation was tested and nothing was found. */
async function expectNoFindings(stack: Stack, examples: number): Promise<void> {
  const run = await schemathesis(stack.api.url, examples);
  const out = findings(run.output);
  const operations = Object.values(buildOpenApiDocument({ maxUploadBytes: 1 }).paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
  expect(out, out).to.match(new RegExp(`Tested: ${operations}\\b`));
  expect(run.code, `schemathesis exited ${run.code} after ${run.seconds} s:\n${out}`).to.equal(0);
  expect(out).to.not.match(/Runtime Error|Authentication Error/);
}

for (const storage of ['volume', 's3'] as const) {
  describe(`OpenAPI contract against the live service (Schemathesis, ${storage} storage)`, function () {
    this.timeout(RUN_LIMIT_MS + 120_000);
    let stack: Stack;
    before(async () => {
      if (!fs.existsSync(SCHEMATHESIS)) throw new Error(`${SCHEMATHESIS} is missing: run hack/setup.sh (or set GRAMINSTA_SCHEMATHESIS)`);
      stack = await start(storage);
    });
    after(async () => stack?.stop());

    // The second run is smaller: it adds what S3 changes (PUT content is 409 use_presigned_url, photos read the bucket).
    it('finds no mismatch and no server error in any operation', () => expectNoFindings(stack, storage === 's3' ? 15 : 40));
  });
}
