// Reads the env contract from the header comment of a shipped sh script, so renderers and tests need not copy it.

/** One environment variable a script's header declares. */
export interface ScriptEnvVar {
  name: string;
  /** True when the header says `required`; the script exits 1 naming the variable when it is missing. */
  required: boolean;
  /** The header's text after the name: the default (or `required`) and what the variable means. */
  description: string;
}

const HEADER_VAR = /^#\s{2,}([A-Z][A-Z0-9_]*)\s+(.+)$/;

/** Lists the variables declared in the `# env:` block of a script's header comment, in order. */
export function parseScriptEnv(script: string): ScriptEnvVar[] {
  const vars: ScriptEnvVar[] = [];
  let inEnv = false;
  for (const line of script.split('\n')) {
    if (!line.startsWith('#')) break;
    if (/^#\s*env:\s*$/.test(line)) {
      inEnv = true;
      continue;
    }
    if (/^#\s*[a-z]+:/.test(line)) {
      inEnv = false;
      continue;
    }
    const match = inEnv ? HEADER_VAR.exec(line) : null;
    if (match) vars.push({ name: match[1]!, required: match[2]!.startsWith('required'), description: match[2]!.replace(/\s{2,}/g, '  ') });
  }
  return vars;
}
