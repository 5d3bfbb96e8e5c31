import { expect } from 'chai';
import { POSTGRES_PRIMARY_INIT_SH, POSTGRES_REPLICA_ENTRYPOINT_SH } from '../../../../operator/render/scripts/postgres.scripts.js';
import { REDIS_CLUSTER_FORM_SH, REDIS_NODE_ENTRYPOINT_SH } from '../../../../operator/render/scripts/redis.scripts.js';
import { parseScriptEnv } from '../../../../operator/render/scripts/script-contract.js';

const SCRIPTS = { POSTGRES_PRIMARY_INIT_SH, POSTGRES_REPLICA_ENTRYPOINT_SH, REDIS_NODE_ENTRYPOINT_SH, REDIS_CLUSTER_FORM_SH };
// Set by the scripts themselves for the tools they run, not read from the pod's environment.
const INTERNAL = new Set(['PATH', 'REDISCLI_AUTH']);

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
    expect(parseScriptEnv(POSTGRES_PRIMARY_INIT_SH).filter((v) => v.required).map((v) => v.name)).to.deep.equal([
      'POSTGRES_APP_PASSWORD',
      'POSTGRES_REPLICATION_PASSWORD',
    ]);
    expect(parseScriptEnv(POSTGRES_REPLICA_ENTRYPOINT_SH).filter((v) => v.required).map((v) => v.name)).to.deep.equal([
      'POSTGRES_PRIMARY_HOST',
      'POSTGRES_REPLICATION_PASSWORD',
    ]);
    expect(parseScriptEnv(REDIS_CLUSTER_FORM_SH).filter((v) => v.required).map((v) => v.name)).to.deep.equal(['REDIS_CLUSTER_NODES']);
  });

  it('parses a header line into name, required flag and description', () => {
    const script = '#!/bin/sh\n# env:\n#   FOO_BAR    required (Secret)    the thing\n#   BAZ   default 1   other\n# mounts:\n#   /x   y\nset -eu\n';
    expect(parseScriptEnv(script)).to.deep.equal([
      { name: 'FOO_BAR', required: true, description: 'required (Secret)  the thing' },
      { name: 'BAZ', required: false, description: 'default 1  other' },
    ]);
  });
});
