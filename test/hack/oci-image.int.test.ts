// Runs the OCI archive writer (hack/node/oci-image.ts, image-from-files.sh) with GNU tar on small root
// file systems and checks the archive as `ctr images import` reads it, with digests recomputed here.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeOciArchive } from '../../hack/node/oci-image.js';

use(chaiAsPromised);

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

interface Entry {
  name: string;
  uid: number;
  gid: number;
  mtime: number;
  mode: number;
}

/** The regular entries of an uncompressed (ustar/pax) tar, read by hand so the test does not trust tar's listing. */
function tarEntries(tar: Buffer): Entry[] {
  const entries: Entry[] = [];
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number): string =>
      header
        .subarray(start, start + length)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const octal = (start: number, length: number): number => parseInt(field(start, length).trim() || '0', 8);
    const size = octal(124, 12);
    const type = field(156, 1);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      paxPath = m?.[1];
    } else {
      const prefix = field(345, 155);
      const name = paxPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
      entries.push({
        name,
        uid: octal(108, 8),
        gid: octal(116, 8),
        mtime: octal(136, 12),
        mode: octal(100, 8),
      });
      paxPath = undefined;
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

interface Unpacked {
  files: string[];
  index: {
    manifests: { digest: string; size: number; mediaType: string; annotations: Record<string, string> }[];
  };
  blob: (digest: string) => Buffer;
}

function unpack(archive: string, into: string): Unpacked {
  mkdirSync(into, { recursive: true });
  execFileSync('tar', ['-xf', archive, '-C', into]);
  return {
    files: readdirSync(into, { recursive: true }).map(String).sort(),
    index: JSON.parse(readFileSync(join(into, 'index.json'), 'utf8')),
    blob: (digest) => readFileSync(join(into, 'blobs', 'sha256', digest.replace(/^sha256:/, ''))),
  };
}

/** Checks every descriptor against the blob it names and returns the image config and the layer's entries. */
function checkArchive(
  archive: string,
  ref: string,
  dir: string,
): { config: Record<string, unknown>; entries: Entry[] } {
  const u = unpack(archive, dir);
  expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).to.deep.equal({
    imageLayoutVersion: '1.0.0',
  });
  expect(u.index.manifests).to.have.length(1);
  const desc = u.index.manifests[0] as Unpacked['index']['manifests'][number];
  expect(desc.annotations).to.deep.equal({
    'io.containerd.image.name': ref,
    'org.opencontainers.image.ref.name': ref.slice(ref.lastIndexOf(':') + 1),
  });
  expect(desc.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
  const manifestBytes = u.blob(desc.digest);
  expect(sha256(manifestBytes)).to.equal(desc.digest);
  expect(manifestBytes.length).to.equal(desc.size);
  const manifest = JSON.parse(manifestBytes.toString());
  const configBytes = u.blob(manifest.config.digest);
  expect(sha256(configBytes)).to.equal(manifest.config.digest);
  expect(configBytes.length).to.equal(manifest.config.size);
  expect(manifest.layers).to.have.length(1);
  const layerBytes = u.blob(manifest.layers[0].digest);
  expect(sha256(layerBytes)).to.equal(manifest.layers[0].digest);
  expect(layerBytes.length).to.equal(manifest.layers[0].size);
  expect(manifest.layers[0].mediaType).to.equal('application/vnd.oci.image.layer.v1.tar+gzip');
  const config = JSON.parse(configBytes.toString());
  const tar = gunzipSync(layerBytes);
  expect(config.rootfs).to.deep.equal({ type: 'layers', diff_ids: [sha256(tar)] });
  // Nothing in blobs/ that no descriptor names.
  const named = [desc.digest, manifest.config.digest, manifest.layers[0].digest]
    .map((d: string) => `blobs/sha256/${d.slice(7)}`)
    .sort();
  expect(u.files.filter((f) => f.startsWith('blobs/sha256/'))).to.deep.equal(named);
  return { config, entries: tarEntries(tar) };
}

describe('hack/node OCI archives (GNU tar)', function () {
  this.timeout(60000);
  let tmp: string;
  before(function () {
    if (process.getuid?.() !== 0)
      throw new Error('these tests write files owned by other uids: run them as root');
  });
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'oci-test-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  function sampleRootfs(): string {
    const r = join(tmp, 'rootfs');
    mkdirSync(join(r, 'data'), { recursive: true });
    mkdirSync(join(r, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(r, 'dev'), { recursive: true });
    mkdirSync(join(r, 'tmp'), { recursive: true });
    writeFileSync(join(r, 'usr', 'bin', 'b'), '#!/bin/sh\n');
    writeFileSync(join(r, 'usr', 'bin', 'a'), 'a');
    writeFileSync(join(r, 'dev', 'null-placeholder'), 'must not be in the layer');
    chmodSync(join(r, 'usr', 'bin', 'b'), 0o755);
    chmodSync(join(r, 'tmp'), 0o1777);
    chownSync(join(r, 'data'), 999, 999);
    return r;
  }

  it('writes an importable, reproducible archive: digests match, owners numeric as on disk, mtimes fixed, names sorted', async () => {
    const rootfs = sampleRootfs();
    const ref = 'graminsta.local/sample:1.0-test';
    const spec = {
      ref,
      user: '999:999',
      cmd: ['/usr/bin/b'],
      env: ['PATH=/usr/bin'],
      labels: { 'org.opencontainers.image.version': '1.0' },
    };
    await writeOciArchive(rootfs, spec, join(tmp, 'a.oci.tar'));
    await writeOciArchive(rootfs, spec, join(tmp, 'b.oci.tar'));
    expect(readFileSync(join(tmp, 'a.oci.tar')).equals(readFileSync(join(tmp, 'b.oci.tar')))).to.equal(
      true,
      'two writes of the same input differ',
    );

    const { config, entries } = checkArchive(join(tmp, 'a.oci.tar'), ref, join(tmp, 'unpacked'));
    expect(config).to.deep.include({ architecture: 'amd64', os: 'linux' });
    expect(config.config).to.deep.equal({
      User: '999:999',
      Cmd: ['/usr/bin/b'],
      Env: ['PATH=/usr/bin'],
      Labels: { 'org.opencontainers.image.version': '1.0' },
    });
    expect(entries.map((e) => e.name)).to.deep.equal([
      './',
      './data/',
      './dev/',
      './tmp/',
      './usr/',
      './usr/bin/',
      './usr/bin/a',
      './usr/bin/b',
    ]);
    expect(entries.every((e) => e.mtime === 0)).to.equal(true);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('./data/')).to.include({ uid: 999, gid: 999 });
    expect(byName.get('./usr/bin/a')).to.include({ uid: 0, gid: 0 });
    expect(byName.get('./usr/bin/b')?.mode).to.equal(0o755);
    expect(byName.get('./tmp/')?.mode).to.equal(0o1777);
  });

  it('a different input gives a different layer digest', async () => {
    const rootfs = sampleRootfs();
    const ref = 'graminsta.local/sample:x';
    await writeOciArchive(rootfs, { ref }, join(tmp, 'a.oci.tar'));
    writeFileSync(join(rootfs, 'usr', 'bin', 'a'), 'changed');
    await writeOciArchive(rootfs, { ref }, join(tmp, 'b.oci.tar'));
    const layerOf = (f: string, d: string): string => {
      const u = unpack(join(tmp, f), join(tmp, d));
      return JSON.parse(u.blob((u.index.manifests[0] as { digest: string }).digest).toString()).layers[0]
        .digest;
    };
    expect(layerOf('a.oci.tar', 'ua')).to.not.equal(layerOf('b.oci.tar', 'ub'));
  });

  it('refuses a ref without a tag before writing anything', async () => {
    const rootfs = sampleRootfs();
    await expect(
      writeOciArchive(rootfs, { ref: 'graminsta.local/sample' }, join(tmp, 'a.oci.tar')),
    ).to.be.rejectedWith(/ref must be/);
    expect(readdirSync(tmp)).to.deep.equal(['rootfs']);
  });

  it('image-from-files.sh wraps files at their image paths, root-owned, with passwd, /tmp and the entrypoint', () => {
    const bin = join(tmp, 'pause');
    writeFileSync(bin, 'binary');
    const ref = 'graminsta.local/pause:3.10-test';
    const out = join(tmp, 'pause.oci.tar');
    execFileSync(
      'bash',
      [
        'hack/node/image-from-files.sh',
        '--ref',
        ref,
        '--out',
        out,
        '--user',
        '65535:65535',
        '--entrypoint',
        '["/pause"]',
        '--',
        `${bin}:/pause`,
        `${bin}:/etc/x/conf:0644`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const { config, entries } = checkArchive(out, ref, join(tmp, 'unpacked'));
    expect(config.config).to.deep.equal({ User: '65535:65535', Entrypoint: ['/pause'] });
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('./pause')).to.include({ uid: 0, gid: 0, mode: 0o755 });
    expect(byName.get('./etc/x/conf')).to.include({ mode: 0o644 });
    expect(byName.get('./tmp/')?.mode).to.equal(0o1777);
    expect(byName.has('./etc/passwd')).to.equal(true);
  });

  it('image-from-files.sh names a malformed file argument', () => {
    expect(() =>
      execFileSync(
        'bash',
        [
          'hack/node/image-from-files.sh',
          '--ref',
          'graminsta.local/x:1',
          '--out',
          join(tmp, 'x.tar'),
          '--',
          `${tmp}/missing:/x`,
        ],
        { stdio: 'pipe' },
      ),
    ).to.throw(/source file .*missing/);
    expect(() =>
      execFileSync(
        'bash',
        [
          'hack/node/image-from-files.sh',
          '--ref',
          'graminsta.local/x:1',
          '--out',
          join(tmp, 'x.tar'),
          '--',
          `${tmp}:relative`,
        ],
        { stdio: 'pipe' },
      ),
    ).to.throw(/DEST must be an absolute path/);
  });
});
