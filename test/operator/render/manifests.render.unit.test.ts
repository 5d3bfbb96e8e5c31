import { expect } from 'chai';
import { DEFAULT_IMAGES } from '../../../operator/api/images.api.js';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../../../operator/cli.js';
import { parseApps, renderManifests } from '../../../operator/render/manifests.render.js';

const opts = { images: { ...DEFAULT_IMAGES, service: 'registry.example/graminsta:1' }, namespace: 'default' };
const doc = (spec: string) =>
  `apiVersion: graminsta.io/v1alpha1\nkind: GraminstaApp\nmetadata: {name: g}\nspec: ${spec}\n`;

describe('manifests.render and the graminsta CLI', () => {
  it('renders a YAML stream with placeholders instead of passwords and the given image', () => {
    const out = renderManifests(doc('{users: 10}'), 'app.yaml', opts);
    const objects = parseAllDocuments(out).map((d) => d.toJS());
    const secrets = objects.filter((o) => o.kind === 'Secret');
    expect(secrets.length).to.be.greaterThan(0);
    // Passwords as stringData; the certificate Secrets as data (base64), which the reconciler fills with what it issued.
    const values = secrets.flatMap((s) => [...Object.values(s.stringData ?? {}), ...Object.values(s.data ?? {}).map((v) => atob(v as string))]);
    expect(values.length).to.be.greaterThan(0);
    for (const v of values) expect(v).to.equal('<generated>');
    expect(out).to.include('image: registry.example/graminsta:1');
    expect(objects.every((o) => o.metadata.namespace === 'default')).to.equal(true);
  });

  it('names the document and field of every problem in a bad file', () => {
    expect(() => parseApps(doc('{users: "many", cache: {foo: 1}}'), 'bad.yaml', 'default')).to.throw(
      /bad\.yaml: document 1: spec\.users: must be an integer, got string\n.*spec\.cache\.foo: unknown field/,
    );
    expect(() => parseApps('kind: Deployment\n', 'x.yaml', 'default')).to.throw(
      /x\.yaml: document 1: apiVersion must be graminsta\.io\/v1alpha1/,
    );
    expect(() => parseApps('a: [1,\n', 'y.yaml', 'default')).to.throw(/y\.yaml: document 1:/);
    expect(() => parseApps('', 'empty.yaml', 'default')).to.throw(/empty\.yaml: no GraminstaApp found/);
    expect(() => renderManifests(doc('{users: 1, api: {replicas: 3}}'), 'z.yaml', opts)).to.throw(
      /z\.yaml: g: spec\.api\.replicas/,
    );
  });

  it('CLI: renders a file, reads stdin with -f -, and fails clearly on a missing file or bad usage', async () => {
    const ok = await runCli([
      'render',
      '-f',
      'examples/stage-2-split-database.yaml',
      '--image',
      'x/y:2',
      '-n',
      'photos',
    ]);
    expect(ok.code).to.equal(0);
    expect(ok.stdout).to.include('namespace: photos').and.include('image: x/y:2');
    const piped = await runCli(['render', '-f', '-'], async () => doc('{users: 1}'));
    expect(piped.code).to.equal(0);
    expect(piped.stdout).to.include('kind: StatefulSet');
    const missing = await runCli(['render', '-f', 'does-not-exist.yaml']);
    expect(missing).to.include({ code: 1, stdout: '' });
    expect(missing.stderr).to.include('does-not-exist.yaml: no such file');
    expect((await runCli(['render'])).code).to.equal(2);
    expect((await runCli(['frobnicate', '-f', 'x'])).stderr).to.include('unknown command "frobnicate"');
  });

  it('CLI: prints the images of the operator settings, flags winning over the environment', async () => {
    const stage6 = ['render', '-f', 'examples/stage-6-data-layer.yaml'];
    const images = (stdout: string) => [...new Set([...stdout.matchAll(/ image: (\S+)/g)].map((m) => m[1]))].sort();
    expect(images((await runCli(stage6, undefined, {})).stdout)).to.deep.equal([
      DEFAULT_IMAGES.service,
      'docker.io/library/postgres:16-bookworm',
      DEFAULT_IMAGES.redis,
    ].sort());
    const env = { GRAMINSTA_SERVICE_IMAGE: 'env/service:1', GRAMINSTA_POSTGRES_IMAGE: 'env/pg:{version}', GRAMINSTA_REDIS_IMAGE: 'env/redis:1' };
    expect(images((await runCli(stage6, undefined, env)).stdout)).to.deep.equal(['env/pg:16', 'env/redis:1', 'env/service:1']);
    const flags = ['--image', 'flag/service:2', '--postgres-image', 'flag/pg:pinned', '--redis-image', 'flag/redis:2'];
    expect(images((await runCli([...stage6, ...flags], undefined, env)).stdout)).to.deep.equal(['flag/pg:pinned', 'flag/redis:2', 'flag/service:2']);
    const spec = doc(`{users: 100000, image: spec/service:3, database: {image: 'spec/pg:3'}, cache: {image: 'spec/redis:3'}}`);
    expect(images((await runCli(['render', '-f', '-', ...flags], async () => spec, env)).stdout)).to.deep.equal(['spec/pg:3', 'spec/redis:3', 'spec/service:3']);
  });

  it('CLI: rejects a bad image setting naming the flag or variable, and a bad spec image naming the field', async () => {
    const bad = await runCli(['render', '-f', 'examples/stage-1-single-machine.yaml', '--postgres-image', 'Postgres:16'], undefined, {});
    expect(bad).to.include({ code: 1, stdout: '' });
    expect(bad.stderr).to.match(/^graminsta: --postgres-image: "Postgres:16" is not an image reference/);
    const env = await runCli(['render', '-f', 'examples/stage-1-single-machine.yaml'], undefined, { GRAMINSTA_SERVICE_IMAGE: 'x@sha256:123' });
    expect(env.stderr).to.match(/GRAMINSTA_SERVICE_IMAGE: "x@sha256:123" has a malformed digest/);
    const spec = await runCli(['render', '-f', '-'], async () => doc(`{cache: {image: 'Redis:7'}}`), {});
    expect(spec.stderr).to.match(/spec\.cache\.image: "Redis:7" is not valid/);
  });

  it('passes images pinned by digest through unchanged, in every image field and setting', async () => {
    const d = (c: string) => `sha256:${c.repeat(64)}`;
    const images = (stdout: string) => [...new Set([...stdout.matchAll(/ image: (\S+)/g)].map((m) => m[1]))].sort();
    const spec = `{users: 100000, image: 'r.local:5000/svc:1.2@${d('a')}', database: {image: 'r.local/pg@${d('b')}'}, cache: {image: 'r.local/redis:7.4@${d('c')}'}}`;
    const fromSpec = await runCli(['render', '-f', '-'], async () => doc(spec), {});
    expect(fromSpec.stderr).to.equal('');
    expect(images(fromSpec.stdout)).to.deep.equal([`r.local/pg@${d('b')}`, `r.local/redis:7.4@${d('c')}`, `r.local:5000/svc:1.2@${d('a')}`]);
    const settings = { GRAMINSTA_SERVICE_IMAGE: `s/svc@${d('1')}`, GRAMINSTA_POSTGRES_IMAGE: `s/pg:16@${d('2')}`, GRAMINSTA_REDIS_IMAGE: `s/redis@${d('3')}` };
    const fromSettings = await runCli(['render', '-f', '-'], async () => doc('{users: 100000}'), settings);
    expect(images(fromSettings.stdout)).to.deep.equal([`s/pg:16@${d('2')}`, `s/redis@${d('3')}`, `s/svc@${d('1')}`]);
  });

  for (const [field, spec] of [
    ['spec.image', `{image: 'svc@sha256:${'a'.repeat(63)}'}`],
    ['spec.database.image', `{users: 10, database: {image: 'pg:16@sha256:${'A'.repeat(64)}'}}`],
    ['spec.cache.image', `{users: 100000, cache: {image: 'redis@sha512:${'a'.repeat(64)}'}}`],
  ] as const) {
    it(`rejects a bad digest in ${field}, naming the field`, async () => {
      const out = await runCli(['render', '-f', '-'], async () => doc(spec), {});
      expect(out.code).to.equal(1);
      expect(out.stderr).to.match(new RegExp(`document 1: ${field.replace(/\./g, '\\.')}: "`));
    });
  }
});
