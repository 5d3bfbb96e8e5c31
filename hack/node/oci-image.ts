// Writes an OCI image archive (oci-layout, index.json, blobs) from a root file system directory:
// one reproducible gzip layer, so `ctr -n k8s.io images import <file>` loads it under its full ref.
// CLI: tsx hack/node/oci-image.ts --rootfs DIR --ref REF --out FILE [--user U] [--env K=V]...
//      [--entrypoint JSON] [--cmd JSON] [--workdir DIR] [--port 8080/tcp]... [--label K=V]... [--stop-signal SIG]
//      [--dockerfile FILE]   (takes WORKDIR, ENV, USER, EXPOSE, CMD, LABEL of its final stage; other flags override)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { dockerfileContract } from './dockerfile-contract.js';

/** What the image runs and how it is named; the fields of an OCI image config that the node uses. */
export interface ImageSpec {
  ref: string;
  user?: string;
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  exposedPorts?: string[];
  labels?: Record<string, string>;
  stopSignal?: string;
}

/** A content descriptor (OCI image spec, descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** Every file's mtime in the layer and the config's `created`: fixed so that equal inputs give equal digests. */
export const FIXED_EPOCH_SECONDS = 0;

/** Splits `registry/name:tag` into the repository and the tag; a ref without an explicit tag or with a digest is refused. */
export function parseRef(ref: string): { repository: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (ref.includes('@') || colon <= slash || colon === ref.length - 1) {
    throw new Error(`ref must be <repository>:<tag> without a digest, got '${ref}'`);
  }
  const repository = ref.slice(0, colon);
  const tag = ref.slice(colon + 1);
  if (!/^[\w][\w.-]{0,127}$/.test(tag))
    throw new Error(`ref's tag '${tag}' is not a valid tag (letters, digits, _ . -, at most 128)`);
  if (!/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(repository)) {
    throw new Error(`ref's repository '${repository}' is not a valid lower-case repository name`);
  }
  return { repository, tag };
}

/** The image config JSON (OCI image spec, config.md) for a single layer with this diff ID. */
export function imageConfig(spec: ImageSpec, diffId: string): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (spec.user !== undefined) config.User = spec.user;
  if (spec.env?.length) config.Env = spec.env;
  if (spec.entrypoint?.length) config.Entrypoint = spec.entrypoint;
  if (spec.cmd?.length) config.Cmd = spec.cmd;
  if (spec.workingDir !== undefined) config.WorkingDir = spec.workingDir;
  if (spec.exposedPorts?.length)
    config.ExposedPorts = Object.fromEntries(spec.exposedPorts.map((p) => [normalisePort(p), {}]));
  if (spec.labels && Object.keys(spec.labels).length) config.Labels = spec.labels;
  if (spec.stopSignal !== undefined) config.StopSignal = spec.stopSignal;
  return {
    created: new Date(FIXED_EPOCH_SECONDS * 1000).toISOString(),
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [
      { created: new Date(FIXED_EPOCH_SECONDS * 1000).toISOString(), created_by: 'hack/node/oci-image.ts' },
    ],
  };
}

function normalisePort(port: string): string {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(port);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535)
    throw new Error(`exposed port must be <1-65535>[/tcp|udp|sctp], got '${port}'`);
  return `${m[1]}/${m[2] ?? 'tcp'}`;
}

/** The image manifest JSON referencing the config and the one layer. */
export function imageManifest(config: Descriptor, layer: Descriptor): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: [layer] };
}

/** index.json: the manifest annotated with the full ref (what containerd names the image) and the tag. */
export function imageIndex(manifest: Descriptor, ref: string): Record<string, unknown> {
  const { tag } = parseRef(ref);
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [
      {
        ...manifest,
        annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag },
        platform: { architecture: 'amd64', os: 'linux' },
      },
    ],
  };
}

/** `sha256:<hex>` of a buffer. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function hashing(hash: ReturnType<typeof createHash>, counter: { size: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      counter.size += chunk.length;
      done(null, chunk);
    },
  });
}

/** Runs a command, streaming its stdout into `sink`; rejects with its stderr when it fails. */
async function runInto(
  cmd: string,
  args: string[],
  sink: (out: NodeJS.ReadableStream) => Promise<void>,
): Promise<void> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('close', res);
  });
  await sink(child.stdout);
  const code = await exited;
  if (code !== 0) throw new Error(`while running ${cmd} ${args.join(' ')}: exit ${code}: ${stderr.trim()}`);
}

/** GNU tar arguments of a reproducible archive of `dir`: sorted names, numeric owners as on disk, fixed mtimes, no atime/ctime. */
export function reproducibleTarArgs(dir: string, excludes: string[] = []): string[] {
  return [
    '--create',
    '--file=-',
    '--format=posix',
    '--sort=name',
    '--numeric-owner',
    `--mtime=@${FIXED_EPOCH_SECONDS}`,
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    ...excludes.map((e) => `--exclude=${e}`),
    `--directory=${dir}`,
    '.',
  ];
}

/** Root file system paths whose contents never go into a layer: the runtime mounts its own there. */
export const LAYER_EXCLUDES = ['./dev/*', './proc/*', './sys/*'];

/** Writes `<out>` (a tar of an OCI image layout) from `rootfs`; returns the manifest's digest. */
export async function writeOciArchive(rootfs: string, spec: ImageSpec, out: string): Promise<string> {
  parseRef(spec.ref);
  if (!(await stat(rootfs)).isDirectory()) throw new Error(`rootfs ${rootfs} is not a directory`);
  const layout = await mkdtemp(join(tmpdir(), 'oci-layout-'));
  try {
    const blobs = join(layout, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const diff = createHash('sha256');
    const gz = createHash('sha256');
    const diffSize = { size: 0 };
    const gzSize = { size: 0 };
    const layerTmp = join(blobs, 'layer.tmp');
    await runInto('tar', reproducibleTarArgs(rootfs, LAYER_EXCLUDES), (stdout) =>
      pipeline(
        stdout,
        hashing(diff, diffSize),
        createGzip({ level: 6 }),
        hashing(gz, gzSize),
        createWriteStream(layerTmp),
      ),
    );
    const layerHex = gz.digest('hex');
    await rename(layerTmp, join(blobs, layerHex));
    const layer: Descriptor = {
      mediaType: MEDIA_TYPES.layer,
      digest: `sha256:${layerHex}`,
      size: gzSize.size,
    };

    const putJson = async (mediaType: string, value: unknown): Promise<Descriptor> => {
      const body = Buffer.from(JSON.stringify(value));
      const digest = sha256Digest(body);
      await writeFile(join(blobs, digest.slice('sha256:'.length)), body);
      return { mediaType, digest, size: body.length };
    };
    const config = await putJson(MEDIA_TYPES.config, imageConfig(spec, `sha256:${diff.digest('hex')}`));
    const manifest = await putJson(MEDIA_TYPES.manifest, imageManifest(config, layer));
    await writeFile(join(layout, 'index.json'), JSON.stringify(imageIndex(manifest, spec.ref)));
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

    await mkdir(dirname(resolve(out)), { recursive: true });
    const outTmp = `${out}.tmp-${process.pid}`;
    await runInto(
      'tar',
      [
        '--create',
        '--file=-',
        '--format=posix',
        '--sort=name',
        '--owner=0',
        '--group=0',
        '--numeric-owner',
        `--mtime=@${FIXED_EPOCH_SECONDS}`,
        '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
        `--directory=${layout}`,
        'oci-layout',
        'index.json',
        'blobs',
      ],
      (stdout) => pipeline(stdout, createWriteStream(outTmp)),
    );
    await rename(outTmp, out);
    return manifest.digest;
  } finally {
    await rm(layout, { recursive: true, force: true });
  }
}

function parseJsonArray(flag: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error(`--${flag} must be a JSON array of strings, got '${value}'`);
  }
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string'))
    throw new Error(`--${flag} must be a JSON array of strings, got '${value}'`);
  return parsed as string[];
}

function dockerfileContractOf(path: string): ReturnType<typeof dockerfileContract> {
  try {
    return dockerfileContract(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`while reading --dockerfile ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** `base` with the variables that `overrides` sets replaced, in order. */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const names = new Set(overrides.map((e) => e.slice(0, e.indexOf('='))));
  return [...base.filter((e) => !names.has(e.slice(0, e.indexOf('=')))), ...overrides];
}

/** Parses the CLI flags into the rootfs, the output path and the image spec. */
export function parseCli(argv: string[]): { rootfs: string; out: string; spec: ImageSpec } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rootfs: { type: 'string' },
      out: { type: 'string' },
      ref: { type: 'string' },
      user: { type: 'string' },
      env: { type: 'string', multiple: true },
      entrypoint: { type: 'string' },
      cmd: { type: 'string' },
      workdir: { type: 'string' },
      port: { type: 'string', multiple: true },
      label: { type: 'string', multiple: true },
      'stop-signal': { type: 'string' },
      dockerfile: { type: 'string' },
    },
  });
  for (const required of ['rootfs', 'out', 'ref'] as const) {
    if (!values[required]) throw new Error(`--${required} is required`);
  }
  const fromDockerfile = values.dockerfile ? dockerfileContractOf(values.dockerfile) : {};
  const labels: Record<string, string> = { ...fromDockerfile.labels };
  for (const l of values.label ?? []) {
    const eq = l.indexOf('=');
    if (eq <= 0) throw new Error(`--label must be KEY=VALUE, got '${l}'`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  for (const e of values.env ?? [])
    if (e.indexOf('=') <= 0) throw new Error(`--env must be NAME=VALUE, got '${e}'`);
  const spec: ImageSpec = {
    ref: values.ref as string,
    user: values.user ?? fromDockerfile.user,
    env: mergeEnv(fromDockerfile.env ?? [], values.env ?? []),
    entrypoint: parseJsonArray('entrypoint', values.entrypoint),
    cmd: parseJsonArray('cmd', values.cmd) ?? fromDockerfile.cmd,
    workingDir: values.workdir ?? fromDockerfile.workingDir,
    exposedPorts: values.port ?? fromDockerfile.exposedPorts,
    labels,
    stopSignal: values['stop-signal'],
  };
  parseRef(spec.ref);
  spec.exposedPorts?.forEach(normalisePort);
  return { rootfs: values.rootfs as string, out: values.out as string, spec };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  try {
    const { rootfs, out, spec } = parseCli(process.argv.slice(2));
    const digest = await writeOciArchive(rootfs, spec, out);
    console.error(`oci-image: wrote ${out} (${spec.ref}, manifest ${digest})`);
  } catch (err) {
    console.error(`oci-image: error: ${(err as Error).message}`);
    process.exit(1);
  }
}
