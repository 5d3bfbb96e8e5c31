// Compiles the project with tsc into .tmp/bench-dist, as the images' `npm run build` does: the benches measure the
// compiled JavaScript the images run, not the tsx loader.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the benches compile to. */
export const BENCH_DIST_DIR = join(repoRoot, '.tmp', 'bench-dist');

/** Compiles the project into BENCH_DIST_DIR and returns the paths of `entries` (source paths, `.ts`) there; throws when one was not emitted. */
export function compileForBench(entries: string[], say: (msg: string) => void = console.log): string[] {
  say('compiling with tsc into .tmp/bench-dist (the images run compiled JavaScript)');
  const tsc = spawnSync(join(repoRoot, 'node_modules/.bin/tsc'), ['-p', join(repoRoot, 'tsconfig.json'), '--outDir', BENCH_DIST_DIR, '--noEmit', 'false'], { encoding: 'utf8' });
  const out = entries.map((e) => join(BENCH_DIST_DIR, e.replace(/\.ts$/, '.js')));
  const missing = out.find((f) => !existsSync(f));
  if (missing) throw new Error(`tsc did not emit ${missing} (exit code ${tsc.status}): ${tsc.stdout.slice(0, 2000)}`);
  if (tsc.status !== 0) say(`tsc reported type errors elsewhere in the tree (exit code ${tsc.status}); the emitted JavaScript is used anyway`);
  return out;
}
