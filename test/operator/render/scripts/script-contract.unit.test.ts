import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SCRIPTS_GEN_PATH, scriptsModule } from '../../../../hack/gen-scripts.js';
import { parseScriptEnv } from '../../../../operator/render/scripts/script-contract.js';
import { SCRIPTS } from '../../../../operator/render/scripts/scripts.gen.js';

// Set by the scripts themselves (PATH, REDISCLI_AUTH for the tools they run; SCRIPT_NAME by lib.sh), not read from the pod's environment.
const INTERNAL = new Set(['PATH', 'REDISCLI_AUTH', 'SCRIPT_NAME']);
const root = fileURLToPath(new URL('../../../../', import.meta.url));

describe('bundled scripts', () => {
  it(`${SCRIPTS_GEN_PATH} matches the .sh files (run \`npm run gen:scripts\` after changing them)`, () => {
    expect(readFileSync(root + SCRIPTS_GEN_PATH, 'utf8')).to.equal(scriptsModule(root));
  });

  it('ships each entrypoint self-contained: lib.sh inlined, never sourced at run time', () => {
    for (const [name, script] of Object.entries(SCRIPTS)) {
      expect(script, name).to.not.contain('. "${0%/*}/lib.sh"');
      expect(script, name).to.match(/^fail\(\) \{/m);
    }
  });
});

function referencedUpperCaseVars(script: string): Set<string> {
  const body = script.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
  return new Set([...body.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!).filter((n) => !INTERNAL.has(n)));
}

describe('shipped script headers', () => {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    describe(name, () => {
      it('starts with a shebang and declares env and mounts in its header', () => {
        expect(script.startsWith('#!/bin/sh\n')).to.equal(true);
        expect(script).to.match(/^# env:$/m);
        expect(script).to.match(/^# mounts:/m);
      });

      it('declares every upper-case variable the script reads, and reads every one it declares', () => {
        const declared = parseScriptEnv(script).map((v) => v.name);
        const used = [...referencedUpperCaseVars(script)];
        expect(used.filter((v) => !declared.includes(v)), 'used but not in the header').to.deep.equal([]);
        expect(declared.filter((v) => !used.includes(v)), 'in the header but never read').to.deep.equal([]);
      });
    });
  }

  it('marks the secrets and the primary host as required', () => {
    expect(parseScriptEnv(SCRIPTS['postgres-primary.sh']).filter((v) => v.required).map((v) => v.name)).to.deep.equal([
      'POSTGRES_APP_PASSWORD',
      'POSTGRES_REPLICATION_PASSWORD',
    ]);
    expect(parseScriptEnv(SCRIPTS['postgres-replica.sh']).filter((v) => v.required).map((v) => v.name)).to.deep.equal([
      'POSTGRES_PRIMARY_HOST',
      'POSTGRES_REPLICATION_PASSWORD',
    ]);
    expect(parseScriptEnv(SCRIPTS['redis-cluster-form.sh']).filter((v) => v.required).map((v) => v.name)).to.deep.equal(['REDIS_CLUSTER_NODES']);
  });

  it('parses a header line into name, required flag and description', () => {
    const script = '#!/bin/sh\n# env:\n#   FOO_BAR    required (Secret)    the thing\n#   BAZ   default 1   other\n# mounts:\n#   /x   y\nset -eu\n';
    expect(parseScriptEnv(script)).to.deep.equal([
      { name: 'FOO_BAR', required: true, description: 'required (Secret)  the thing' },
      { name: 'BAZ', required: false, description: 'default 1  other' },
    ]);
  });
});
