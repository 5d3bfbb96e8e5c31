import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SERVICE_IMAGE, OPERATOR_NODE_FLAGS, OPERATOR_VERSION, loadConfig } from '../../operator/config.js';
import { repoRoot } from '../support/cluster.js';

describe('operator config', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({});
    expect(c).to.deep.include({ watchNamespace: '', leaseNamespace: 'default', leaderElect: true, workers: 4, httpPort: 8080, logLevel: 'info' });
    expect(c.serviceImage).to.equal(DEFAULT_SERVICE_IMAGE);
    expect(DEFAULT_SERVICE_IMAGE).to.match(new RegExp(`:${OPERATOR_VERSION.replace(/\./g, '\\.')}$`));
  });

  it('reads the environment', () => {
    const c = loadConfig({ WATCH_NAMESPACE: 'photos', POD_NAMESPACE: 'ops', GRAMINSTA_WORKERS: '8', GRAMINSTA_LEADER_ELECT: 'false', POD_NAME: 'op-1', LOG_LEVEL: 'debug' });
    expect(c).to.deep.include({ watchNamespace: 'photos', leaseNamespace: 'ops', workers: 8, leaderElect: false, identity: 'op-1', logLevel: 'debug' });
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ GRAMINSTA_WORKERS: '0' }, /GRAMINSTA_WORKERS: must be an integer from 1 to 64/],
    [{ GRAMINSTA_WORKERS: 'many' }, /GRAMINSTA_WORKERS/],
    [{ GRAMINSTA_HTTP_PORT: '70000' }, /GRAMINSTA_HTTP_PORT/],
    [{ GRAMINSTA_LEADER_ELECT: 'maybe' }, /GRAMINSTA_LEADER_ELECT: must be true or false/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ GRAMINSTA_LEASE_DURATION_SECONDS: '5', GRAMINSTA_RENEW_DEADLINE_SECONDS: '10' }, /RENEW_DEADLINE.*LEASE_DURATION/],
  ];
  for (const [env, message] of bad) {
    it(`rejects ${JSON.stringify(env)} naming the variable`, () => expect(() => loadConfig(env)).to.throw(message));
  }

  it('ships the image with the Node.js flags the bench measures', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile.operator'), 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(cmd ?? '[]')).to.deep.equal([...OPERATOR_NODE_FLAGS, 'dist/operator/main.js']);
    expect(readFileSync(join(repoRoot, 'hack/run.sh'), 'utf8')).to.contain(`node ${OPERATOR_NODE_FLAGS.join(' ')} --import tsx operator/main.ts`);
  });
});
