import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dockerfileContract } from '../../hack/node/dockerfile-contract.js';
import {
  imageConfig,
  imageIndex,
  imageManifest,
  mergeEnv,
  MEDIA_TYPES,
  parseCli,
  parseRef,
  sha256Digest,
} from '../../hack/node/oci-image.js';
import { OPERATOR_NODE_FLAGS } from '../../operator/config.js';

describe('hack/node/oci-image', () => {
  describe('parseRef', () => {
    it('splits a ref with a registry port into repository and tag', () => {
      expect(parseRef('graminsta.local/postgres:15-debian')).to.deep.equal({
        repository: 'graminsta.local/postgres',
        tag: '15-debian',
      });
      expect(parseRef('localhost:5000/a/b:v1.2')).to.deep.equal({
        repository: 'localhost:5000/a/b',
        tag: 'v1.2',
      });
    });

    for (const bad of [
      'graminsta.local/postgres',
      'localhost:5000/a',
      'x/y:',
      'x/y@sha256:00',
      'Upper/case:1',
      'x/y:-bad',
    ]) {
      it(`refuses '${bad}' naming the ref`, () => {
        expect(() => parseRef(bad)).to.throw(/ref/);
      });
    }
  });

  describe('imageConfig', () => {
    it('sets the runtime fields, amd64/linux and the one diff ID', () => {
      const config = imageConfig(
        {
          ref: 'r/x:1',
          user: '999:999',
          env: ['A=1'],
          entrypoint: ['/bin/x'],
          cmd: ['run'],
          workingDir: '/data',
          exposedPorts: ['6379', '53/udp'],
          labels: { 'org.opencontainers.image.version': '7.0.15' },
          stopSignal: 'SIGINT',
        },
        'sha256:abc',
      );
      expect(config).to.deep.include({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: ['sha256:abc'] },
      });
      expect(config.config).to.deep.equal({
        User: '999:999',
        Env: ['A=1'],
        Entrypoint: ['/bin/x'],
        Cmd: ['run'],
        WorkingDir: '/data',
        ExposedPorts: { '6379/tcp': {}, '53/udp': {} },
        Labels: { 'org.opencontainers.image.version': '7.0.15' },
        StopSignal: 'SIGINT',
      });
    });

    it('has a fixed created time, so equal inputs give equal configs', () => {
      expect(JSON.stringify(imageConfig({ ref: 'r/x:1' }, 'sha256:a'))).to.equal(
        JSON.stringify(imageConfig({ ref: 'r/x:1' }, 'sha256:a')),
      );
    });

    it('refuses a bad exposed port naming it', () => {
      expect(() => imageConfig({ ref: 'r/x:1', exposedPorts: ['70000'] }, 'sha256:a')).to.throw(
        /exposed port.*70000/,
      );
    });
  });

  describe('imageManifest and imageIndex', () => {
    it('annotate the manifest with the full ref and the tag, as ctr import reads them', () => {
      const config = { mediaType: MEDIA_TYPES.config, digest: sha256Digest('{}'), size: 2 };
      const layer = { mediaType: MEDIA_TYPES.layer, digest: 'sha256:11', size: 10 };
      const manifest = imageManifest(config, layer);
      expect(manifest).to.deep.equal({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.manifest,
        config,
        layers: [layer],
      });
      const index = imageIndex(
        { mediaType: MEDIA_TYPES.manifest, digest: 'sha256:22', size: 5 },
        'graminsta.local/redis:7.0-debian',
      );
      expect(index).to.deep.equal({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.index,
        manifests: [
          {
            mediaType: MEDIA_TYPES.manifest,
            digest: 'sha256:22',
            size: 5,
            annotations: {
              'io.containerd.image.name': 'graminsta.local/redis:7.0-debian',
              'org.opencontainers.image.ref.name': '7.0-debian',
            },
            platform: { architecture: 'amd64', os: 'linux' },
          },
        ],
      });
    });
  });

  describe('parseCli', () => {
    it('takes the Dockerfile contract and lets flags override it', () => {
      const { spec } = parseCli([
        '--rootfs',
        '/r',
        '--out',
        '/o.tar',
        '--ref',
        'graminsta.local/graminsta-service:abc',
        '--dockerfile',
        'Dockerfile.service',
        '--entrypoint',
        '["/usr/local/bin/node"]',
        '--env',
        'PATH=/usr/bin',
        '--env',
        'GRAMINSTA_MODE=web',
        '--label',
        'org.opencontainers.image.version=0.1.0+abc',
      ]);
      expect(spec.entrypoint).to.deep.equal(['/usr/local/bin/node']);
      expect(spec.cmd).to.deep.equal(['dist/service/main.js']);
      expect(spec.env).to.deep.equal(['NODE_ENV=production', 'PATH=/usr/bin', 'GRAMINSTA_MODE=web']);
      expect(spec.user).to.equal('1000:1000');
      expect(spec.workingDir).to.equal('/app');
      expect(spec.labels?.['org.opencontainers.image.version']).to.equal('0.1.0+abc');
      expect(spec.labels?.['org.opencontainers.image.title']).to.equal('graminsta-service');
    });

    it('names the missing or malformed flag', () => {
      expect(() => parseCli(['--out', 'o', '--ref', 'r/x:1'])).to.throw('--rootfs is required');
      expect(() => parseCli(['--rootfs', 'r', '--out', 'o', '--ref', 'r/x:1', '--cmd', 'postgres'])).to.throw(
        /--cmd must be a JSON array/,
      );
      expect(() =>
        parseCli(['--rootfs', 'r', '--out', 'o', '--ref', 'r/x:1', '--label', 'novalue']),
      ).to.throw(/--label must be KEY=VALUE/);
      expect(() => parseCli(['--rootfs', 'r', '--out', 'o', '--ref', 'r/x:1', '--env', '=x'])).to.throw(
        /--env must be NAME=VALUE/,
      );
      expect(() => parseCli(['--rootfs', 'r', '--out', 'o', '--ref', 'r/x'])).to.throw(/ref must be/);
    });
  });

  it('mergeEnv replaces variables in place of appending duplicates', () => {
    expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'])).to.deep.equal(['A=1', 'B=3', 'C=4']);
  });
});

describe('hack/node/dockerfile-contract', () => {
  it("reads the operator Dockerfile's final stage (node flags as in operator/config.ts)", () => {
    const contract = dockerfileContract(readFileSync('Dockerfile.operator', 'utf8'));
    expect(contract.user).to.equal('65532:65532');
    expect(contract.workingDir).to.equal('/app');
    expect(contract.env).to.deep.equal(['NODE_ENV=production']);
    expect(contract.cmd).to.deep.equal([...OPERATOR_NODE_FLAGS, 'dist/operator/main.js']);
    expect(contract.exposedPorts).to.deep.equal(['8080']);
    expect(contract.labels?.['org.opencontainers.image.title']).to.equal('graminsta-operator');
  });

  it('takes only the last stage, joins continuations and substitutes ARG defaults into labels', () => {
    const contract = dockerfileContract(
      [
        'FROM a AS build',
        'USER 1',
        'ENV X=build',
        'FROM b',
        'ARG V=2.0',
        '# a comment',
        'LABEL one="1 1" \\',
        '   two=${V}',
        'ENV Y="a b" Z=c',
        'CMD ["x"]',
      ].join('\n'),
    );
    expect(contract).to.deep.equal({
      env: ['Y=a b', 'Z=c'],
      exposedPorts: [],
      labels: { one: '1 1', two: '2.0' },
      cmd: ['x'],
    });
  });

  it('refuses a shell-form CMD and a legacy ENV naming the instruction', () => {
    expect(() => dockerfileContract('FROM a\nCMD node main.js')).to.throw(/CMD must be in JSON/);
    expect(() => dockerfileContract('FROM a\nENV X 1')).to.throw(/ENV: cannot parse/);
  });
});
