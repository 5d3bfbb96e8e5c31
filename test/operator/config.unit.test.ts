import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_IMAGES } from '../../operator/api/images.api.js';
import { DEFAULT_SERVICE_IMAGE, OPERATOR_NODE_FLAGS, OPERATOR_VERSION, loadConfig, loadImageSettings } from '../../operator/config.js';
import { repoRoot } from '../support/cluster.js';

describe('operator config', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({});
    expect(c).to.deep.include({ watchNamespace: '', leaseNamespace: 'default', leaderElect: true, workers: 4, httpPort: 8080, logLevel: 'info', discoveryIntervalMs: 60_000 });
    expect(c.images).to.deep.equal(DEFAULT_IMAGES);
    expect(c.images.service).to.equal(DEFAULT_SERVICE_IMAGE);
    expect(DEFAULT_SERVICE_IMAGE).to.match(new RegExp(`:${OPERATOR_VERSION.replace(/\./g, '\\.')}$`));
  });

  it('reads the environment', () => {
    const c = loadConfig({ WATCH_NAMESPACE: 'photos', POD_NAMESPACE: 'ops', GRAMINSTA_WORKERS: '8', GRAMINSTA_LEADER_ELECT: 'false', POD_NAME: 'op-1', LOG_LEVEL: 'debug', GRAMINSTA_DISCOVERY_INTERVAL_SECONDS: '0' });
    expect(c).to.deep.include({ watchNamespace: 'photos', leaseNamespace: 'ops', workers: 8, leaderElect: false, identity: 'op-1', logLevel: 'debug', discoveryIntervalMs: 0 });
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ GRAMINSTA_WORKERS: '0' }, /GRAMINSTA_WORKERS: must be an integer from 1 to 64/],
    [{ GRAMINSTA_WORKERS: 'many' }, /GRAMINSTA_WORKERS/],
    [{ GRAMINSTA_HTTP_PORT: '70000' }, /GRAMINSTA_HTTP_PORT/],
    [{ GRAMINSTA_LEADER_ELECT: 'maybe' }, /GRAMINSTA_LEADER_ELECT: must be true or false/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ GRAMINSTA_DISCOVERY_INTERVAL_SECONDS: '-1' }, /GRAMINSTA_DISCOVERY_INTERVAL_SECONDS: must be an integer from 0 to 86400/],
    [{ GRAMINSTA_LEASE_DURATION_SECONDS: '5', GRAMINSTA_RENEW_DEADLINE_SECONDS: '10' }, /RENEW_DEADLINE.*LEASE_DURATION/],
    [{ GRAMINSTA_SERVICE_IMAGE: 'Graminsta:latest' }, /^GRAMINSTA_SERVICE_IMAGE: "Graminsta:latest" is not an image reference/],
    [{ GRAMINSTA_SERVICE_IMAGE: 'registry.local/g@sha256:abc' }, /^GRAMINSTA_SERVICE_IMAGE: .*malformed digest: expected @sha256: and 64 lowercase hex digits/],
    [{ GRAMINSTA_POSTGRES_IMAGE: 'postgres:{major}' }, /^GRAMINSTA_POSTGRES_IMAGE: "postgres:\{major\}" is not an image reference/],
    [{ GRAMINSTA_REDIS_IMAGE: 'redis with spaces' }, /^GRAMINSTA_REDIS_IMAGE: /],
    [{ GRAMINSTA_REDIS_IMAGE: `r/${'x'.repeat(520)}` }, /^GRAMINSTA_REDIS_IMAGE: longer than 512 characters/],
  ];
  for (const [env, message] of bad) {
    it(`rejects ${JSON.stringify(env).slice(0, 90)} naming the variable`, () => expect(() => loadConfig(env)).to.throw(message));
  }

  it('reads image overrides, digests and the Postgres version placeholder', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const images = loadConfig({
      GRAMINSTA_SERVICE_IMAGE: `registry.local:5000/graminsta-service@${digest}`,
      GRAMINSTA_POSTGRES_IMAGE: 'registry.local:5000/postgres:{version}-bookworm',
      GRAMINSTA_REDIS_IMAGE: 'registry.local:5000/redis:7.4-bookworm',
    }).images;
    expect(images).to.deep.equal({
      service: `registry.local:5000/graminsta-service@${digest}`,
      postgres: 'registry.local:5000/postgres:{version}-bookworm',
      redis: 'registry.local:5000/redis:7.4-bookworm',
    });
  });

  it('lets flags win over the environment and names the flag of a bad value', () => {
    const env = { GRAMINSTA_REDIS_IMAGE: 'from/env:1' };
    expect(loadImageSettings(env, { redis: { value: 'from/flag:2', flag: '--redis-image' } }).redis).to.equal('from/flag:2');
    expect(loadImageSettings(env, { redis: { value: undefined, flag: '--redis-image' } }).redis).to.equal('from/env:1');
    expect(() => loadImageSettings({}, { service: { value: 'BAD', flag: '--image' } })).to.throw(/^--image: "BAD"/);
  });

  it('ships the image with the Node.js flags the bench measures', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile.operator'), 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(cmd ?? '[]')).to.deep.equal([...OPERATOR_NODE_FLAGS, 'dist/operator/main.js']);
    expect(readFileSync(join(repoRoot, 'hack/run.sh'), 'utf8')).to.contain(`node ${OPERATOR_NODE_FLAGS.join(' ')} --import tsx operator/main.ts`);
  });
});
