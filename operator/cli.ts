#!/usr/bin/env node
// The graminsta command line: `graminsta render -f app.yaml` prints the objects the operator would create;
// `graminsta diagram -f app.yaml` draws their topology.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_IMAGES, VERSION_PLACEHOLDER } from './api/images.api.js';
import type { GraminstaApp } from './api/types.gen.js';
import { IMAGE_ENV, loadImageSettings } from './config.js';
import { toMermaid } from './diagram/mermaid.diagram.js';
import { toSvg } from './diagram/svg.diagram.js';
import { appTopology } from './diagram/topology.diagram.js';
import { parseApps, renderManifests } from './render/manifests.render.js';

const USAGE = `usage: graminsta render -f <file|-> [--image <image>] [--postgres-image <image>] [--redis-image <image>] [-n <namespace>]
       graminsta diagram -f <file|-> [--format mermaid|svg] [image flags] [-n <namespace>] [<app name>]

render prints the Kubernetes objects the operator would create for the GraminstaApp(s) in the file, as a
YAML stream, without contacting a cluster. Generated passwords are shown as <generated>.
diagram draws the topology of one of them from the same objects: tiers, Services, who talks to whom,
replica counts and the stage, as a Mermaid flowchart (the default) or an SVG picture. With several apps in
the file, name one. For an app in a cluster:
  kubectl get graminstaapp -n <namespace> <name> -o yaml | graminsta diagram -f -
The image settings are the operator's: a flag wins over its environment variable, which wins over the default.

  -f, --filename        manifest file with one or more GraminstaApp documents; - reads stdin
      --image           photo service image when spec.image is empty
                        (${IMAGE_ENV.service}, default ${DEFAULT_IMAGES.service})
      --postgres-image  Postgres image when spec.database.image is empty; ${VERSION_PLACEHOLDER} stands for
                        spec.database.version (${IMAGE_ENV.postgres}, default ${DEFAULT_IMAGES.postgres})
      --redis-image     Redis image when spec.cache.image is empty
                        (${IMAGE_ENV.redis}, default ${DEFAULT_IMAGES.redis})
  -n, --namespace       namespace of apps whose manifest has none (default: default)
      --format          diagram only: mermaid (default) or svg
`;

/** The formats of `graminsta diagram`. */
export const DIAGRAM_FORMATS = { mermaid: toMermaid, svg: toSvg } as const;

/** Outcome of one CLI invocation: what to print and the exit code. */
export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
}

async function readInput(file: string, stdin: () => Promise<string>): Promise<string> {
  if (file === '-') return stdin();
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (cause as Error).message;
    throw new Error(`${file}: ${why}`, { cause });
  }
}

function pickApp(apps: GraminstaApp[], name: string | undefined, source: string): GraminstaApp {
  const names = apps.map((a) => a.metadata.name).join(', ');
  if (name === undefined) {
    if (apps.length === 1) return apps[0]!;
    throw new Error(`${source}: holds ${apps.length} apps (${names}); name the one to draw`);
  }
  const app = apps.find((a) => a.metadata.name === name);
  if (!app) throw new Error(`${source}: no app named "${name}" (it holds ${names})`);
  return app;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the CLI with the given arguments (without node and script) and environment, returning output instead of exiting. */
export async function runCli(
  argv: string[],
  stdin: () => Promise<string> = readStdin,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        filename: { type: 'string', short: 'f' },
        image: { type: 'string' },
        'postgres-image': { type: 'string' },
        'redis-image': { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        format: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (cause) {
    return { stdout: '', stderr: `graminsta: ${(cause as Error).message}\n${USAGE}`, code: 2 };
  }
  const { values, positionals } = parsed;
  if (values.help) return { stdout: USAGE, stderr: '', code: 0 };
  const command = positionals[0];
  const usageError = (what: string): CliResult => ({ stdout: '', stderr: `graminsta: ${what}\n${USAGE}`, code: 2 });
  if ((command !== 'render' && command !== 'diagram') || positionals.length > (command === 'diagram' ? 2 : 1)) {
    return usageError(positionals.length === 0 ? 'missing command' : `unknown command "${positionals.join(' ')}"`);
  }
  if (!values.filename) return usageError(`${command} needs -f <file>`);
  if (values.format !== undefined && command !== 'diagram') return usageError('--format: only for diagram');
  const format = values.format ?? 'mermaid';
  if (!Object.hasOwn(DIAGRAM_FORMATS, format)) {
    return usageError(`--format: must be one of ${Object.keys(DIAGRAM_FORMATS).join(', ')}, got "${format}"`);
  }
  try {
    const images = loadImageSettings(env, {
      service: { value: values.image, flag: '--image' },
      postgres: { value: values['postgres-image'], flag: '--postgres-image' },
      redis: { value: values['redis-image'], flag: '--redis-image' },
    });
    const text = await readInput(values.filename, stdin);
    const source = values.filename === '-' ? '<stdin>' : values.filename;
    const namespace = values.namespace || 'default';
    if (command === 'render') return { stdout: renderManifests(text, source, { images, namespace }), stderr: '', code: 0 };
    const app = pickApp(parseApps(text, source, namespace), positionals[1], source);
    let topology;
    try {
      topology = appTopology(app, images);
    } catch (cause) {
      throw new Error(`${source}: ${app.metadata.name}: ${(cause as Error).message}`, { cause });
    }
    return { stdout: DIAGRAM_FORMATS[format as keyof typeof DIAGRAM_FORMATS](topology), stderr: '', code: 0 };
  } catch (cause) {
    return { stdout: '', stderr: `graminsta: ${(cause as Error).message}\n`, code: 1 };
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runCli(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.code;
}
