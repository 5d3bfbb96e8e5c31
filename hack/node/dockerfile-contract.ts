// Reads the runtime contract (WORKDIR, ENV, USER, EXPOSE, CMD, LABEL) of a Dockerfile's final stage, so
// the images built without Docker for the real node run exactly as the Dockerfile says.
import type { ImageSpec } from './oci-image.js';

/** The image config fields a Dockerfile's final stage sets; ARG defaults are substituted into LABEL values. */
export type DockerfileContract = Pick<
  ImageSpec,
  'user' | 'env' | 'cmd' | 'workingDir' | 'exposedPorts' | 'labels'
>;

/** Joins continuation lines and drops comments and blank lines. */
function instructions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    out.push(current + line);
    current = '';
  }
  if (current !== '') out.push(current.trim());
  return out;
}

/** Splits `k=v k2="v 2"` pairs as ENV and LABEL write them. */
function keyValues(rest: string, what: string): [string, string][] {
  const pairs: [string, string][] = [];
  const re = /\s*([^\s=]+)=("((?:[^"\\]|\\.)*)"|(\S*))/y;
  let m: RegExpExecArray | null;
  let index = 0;
  while (index < rest.length && (m = re.exec(rest)) !== null) {
    pairs.push([m[1] as string, m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[4] ?? '')]);
    index = re.lastIndex;
  }
  if (rest.slice(index).trim() !== '')
    throw new Error(`${what}: cannot parse '${rest}' (only KEY=VALUE pairs are supported)`);
  return pairs;
}

/** The contract of the last FROM stage of `text`; throws naming the instruction it cannot read. */
export function dockerfileContract(text: string): DockerfileContract {
  const all = instructions(text);
  const args = new Map<string, string>();
  let stage: string[] = [];
  for (const ins of all) {
    if (/^FROM\s/i.test(ins)) stage = [];
    else stage.push(ins);
  }
  const contract: DockerfileContract = { env: [], exposedPorts: [], labels: {} };
  for (const ins of stage) {
    const m = /^(\w+)\s+(.*)$/.exec(ins);
    if (!m) continue;
    const keyword = (m[1] as string).toUpperCase();
    const rest = (m[2] as string).trim();
    const substitute = (v: string): string =>
      v.replace(/\$\{(\w+)\}|\$(\w+)/g, (_s, a?: string, b?: string) => args.get((a ?? b) as string) ?? '');
    switch (keyword) {
      case 'ARG': {
        const [name, value] = rest.split('=', 2);
        args.set(name as string, value ?? '');
        break;
      }
      case 'WORKDIR':
        contract.workingDir = rest;
        break;
      case 'USER':
        contract.user = rest;
        break;
      case 'EXPOSE':
        contract.exposedPorts?.push(...rest.split(/\s+/));
        break;
      case 'ENV':
        for (const [k, v] of keyValues(rest, 'ENV')) contract.env?.push(`${k}=${v}`);
        break;
      case 'LABEL':
        for (const [k, v] of keyValues(rest, 'LABEL'))
          (contract.labels as Record<string, string>)[k] = substitute(v);
        break;
      case 'CMD': {
        let cmd: unknown;
        try {
          cmd = JSON.parse(rest);
        } catch {
          throw new Error(`CMD must be in JSON (exec) form, got '${rest}'`);
        }
        if (!Array.isArray(cmd) || !cmd.every((c) => typeof c === 'string'))
          throw new Error(`CMD must be a JSON array of strings, got '${rest}'`);
        contract.cmd = cmd as string[];
        break;
      }
      default:
        break;
    }
  }
  return contract;
}
