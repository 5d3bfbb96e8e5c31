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
const RUN_LIMIT_MS = 300_000;

interface Run {
  code: number | null;
  output: string;
  seconds: number;
}

/** Runs Schemathesis against `url` with every check and phase, a fixed seed and example count; killed after RUN_LIMIT_MS. */
function schemathesis(url: string, extra: string[] = []): Promise<Run> {
  const args = ['--config-file', path.join(HERE, 'schemathesis.toml'), 'run', `${url}/openapi.json`, '--url', url, '--checks', 'all', '--phases', 'examples,coverage,fuzzing,stateful', '--max-examples', '40', '--seed', '20261202', '--workers', '1', '--request-timeout', '10', '--no-color', ...extra];
  const start = Date.now();
  // One worker: Hypothesis' lambda descriptions parse source with ast, which CPython 3.11 does not survive from several threads.
  const child = spawn(SCHEMATHESIS, args, { env: { ...process.env, GRAMINSTA_ST_URL: url, SCHEMATHESIS_HOOKS: 'schemathesis_hooks', PYTHONPATH: HERE }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
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

describe('OpenAPI contract against the live service (Schemathesis)', function () {
  this.timeout(RUN_LIMIT_MS + 120_000);
  let stack: Stack;
  before(async function () {
    if (!fs.existsSync(SCHEMATHESIS)) throw new Error(`${SCHEMATHESIS} is missing: run hack/setup.sh (or set GRAMINSTA_SCHEMATHESIS)`);
    // Rate limits on (so their headers are checked) but far above what the run sends.
    const high = '100000';
    stack = await startStack({
      replica: false,
      redis: 'none',
      storage: 'volume',
      extraEnv: {
        GRAMINSTA_RATE_LIMITS_ENABLED: 'true',
        GRAMINSTA_RATE_LIMIT_LOGIN_PER_IP: high,
        GRAMINSTA_RATE_LIMIT_LOGIN_PER_ACCOUNT: high,
        GRAMINSTA_RATE_LIMIT_SIGNUP_PER_IP: high,
        GRAMINSTA_RATE_LIMIT_UPLOADS_PER_IP: high,
        GRAMINSTA_RATE_LIMIT_UPLOADS_PER_ACCOUNT: high,
      },
    });
  });
  after(async () => stack?.stop());

  it('finds no mismatch and no server error in any operation', async () => {
    const run = await schemathesis(stack.api.url);
    const out = findings(run.output);
    const operations = Object.values(buildOpenApiDocument({ maxUploadBytes: 1 }).paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(out, out).to.match(new RegExp(`Tested: ${operations}\\b`));
    expect(run.code, `schemathesis exited ${run.code} after ${run.seconds} s:\n${out}`).to.equal(0);
    expect(out).to.not.match(/Runtime Error|Authentication Error/);
  });
});
