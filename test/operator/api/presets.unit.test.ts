import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { parse } from 'yaml';
import {
  STAGE_THRESHOLDS,
  effectiveSpec,
  resolveStage,
  stageForUsers,
} from '../../../operator/api/presets.api.js';
import { STAGES, type Stage } from '../../../operator/api/schema.api.js';
import type { GraminstaAppSpec } from '../../../operator/api/types.gen.js';

const app = (spec?: GraminstaAppSpec) => ({ spec });

describe('stage presets', () => {
  describe('resolveStage from the users hint', () => {
    const table: [number, Stage][] = [
      [1, 'single-machine'],
      [9, 'single-machine'],
      [10, 'split-database'],
      [99, 'split-database'],
      [100, 'split-clients'],
      [999, 'split-clients'],
      [1_000, 'load-balanced'],
      [9_999, 'load-balanced'],
      [10_000, 'cdn'],
      [99_999, 'cdn'],
      [100_000, 'data-layer'],
      [5_000_000, 'data-layer'],
    ];
    for (const [users, stage] of table) {
      it(`users ${users} -> ${stage}`, () => expect(resolveStage(app({ users }))).to.equal(stage));
    }

    it('has one threshold per stage, increasing', () => {
      const values = STAGES.map((s) => STAGE_THRESHOLDS[s]);
      expect(values).to.deep.equal([1, 10, 100, 1_000, 10_000, 100_000]);
      for (const stage of STAGES) expect(stageForUsers(STAGE_THRESHOLDS[stage])).to.equal(stage);
    });
  });

  describe('resolveStage without users: the highest configured tier', () => {
    const table: [string, GraminstaAppSpec | undefined, Stage][] = [
      ['no spec', undefined, 'single-machine'],
      ['empty spec', {}, 'single-machine'],
      ['api replicas only', { api: { replicas: 3 } }, 'single-machine'],
      ['database version only', { database: { version: '16' } }, 'single-machine'],
      ['database storage', { database: { storage: { size: '5Gi' } } }, 'split-database'],
      ['external database', { database: { external: { secretName: 'rds' } } }, 'split-database'],
      ['web', { web: { replicas: 2 } }, 'split-clients'],
      ['web disabled', { web: { enabled: false } }, 'single-machine'],
      ['ingress', { ingress: { apiHost: 'api.example.com' } }, 'load-balanced'],
      ['api autoscaling', { api: { autoscaling: { maxReplicas: 5 } } }, 'load-balanced'],
      ['cdn', { cdn: { origin: { volume: { size: '1Gi' } } } }, 'cdn'],
      ['cdn disabled', { cdn: { enabled: false }, web: {} }, 'split-clients'],
      ['cache', { cache: {} }, 'data-layer'],
      ['read replicas', { database: { readReplicas: 1 } }, 'data-layer'],
      ['read replicas 0', { database: { readReplicas: 0 } }, 'single-machine'],
      ['cache disabled', { cache: { enabled: false } }, 'single-machine'],
    ];
    for (const [name, spec, stage] of table) {
      it(`${name} -> ${stage}`, () => expect(resolveStage(app(spec))).to.equal(stage));
    }

    it('the users hint wins over configured tiers', () => {
      expect(resolveStage(app({ users: 1, cache: {} }))).to.equal('single-machine');
    });
  });

  describe('effectiveSpec presets per stage', () => {
    const shape = (users: number) => {
      const e = effectiveSpec(app({ users }));
      return {
        stage: e.stage,
        web: e.web !== null,
        ingress: e.ingress !== null,
        cdn: e.cdn?.origin.kind ?? null,
        database: e.database.placement,
        readReplicas: e.database.readReplicas,
        cache: e.cache?.mode ?? null,
        apiAutoscaling: e.api.autoscaling !== null,
      };
    };
    const table: [number, ReturnType<typeof shape>][] = [
      [
        1,
        {
          stage: 'single-machine',
          web: false,
          ingress: false,
          cdn: null,
          database: 'embedded',
          readReplicas: 0,
          cache: null,
          apiAutoscaling: false,
        },
      ],
      [
        10,
        {
          stage: 'split-database',
          web: false,
          ingress: false,
          cdn: null,
          database: 'in-cluster',
          readReplicas: 0,
          cache: null,
          apiAutoscaling: false,
        },
      ],
      [
        100,
        {
          stage: 'split-clients',
          web: true,
          ingress: false,
          cdn: null,
          database: 'in-cluster',
          readReplicas: 0,
          cache: null,
          apiAutoscaling: false,
        },
      ],
      [
        1_000,
        {
          stage: 'load-balanced',
          web: true,
          ingress: true,
          cdn: null,
          database: 'in-cluster',
          readReplicas: 0,
          cache: null,
          apiAutoscaling: true,
        },
      ],
      [
        10_000,
        {
          stage: 'cdn',
          web: true,
          ingress: true,
          cdn: 'origin',
          database: 'in-cluster',
          readReplicas: 0,
          cache: null,
          apiAutoscaling: true,
        },
      ],
      [
        100_000,
        {
          stage: 'data-layer',
          web: true,
          ingress: true,
          cdn: 'origin',
          database: 'in-cluster',
          readReplicas: 2,
          cache: 'cluster',
          apiAutoscaling: true,
        },
      ],
    ];
    for (const [users, expected] of table) {
      it(`users ${users}: ${expected.stage}`, () => expect(shape(users)).to.deep.equal(expected));
    }

    it('fills the image, cache TTL and database version defaults', () => {
      const e = effectiveSpec(app({ users: 100_000 }));
      expect(e.image).to.equal('');
      expect(e.database.image).to.equal('');
      expect(e.cache?.image).to.equal('');
      expect(e.cache).to.include({ shards: 3, replicasPerShard: 1, ttlSeconds: 30 });
      expect(e.database.version).to.equal('16');
      expect(e.api.autoscaling).to.deep.equal({
        minReplicas: 3,
        maxReplicas: 50,
        targetCPUUtilizationPercentage: 70,
      });
    });
  });

  describe('explicit fields win over the preset', () => {
    it('image', () =>
      expect(effectiveSpec(app({ image: 'registry.local:5000/g:1' })).image).to.equal(
        'registry.local:5000/g:1',
      ));

    it('api replicas without autoscaling switch the autoscaling preset off', () => {
      const e = effectiveSpec(app({ users: 100_000, api: { replicas: 4 } }));
      expect(e.api).to.include({ replicas: 4, autoscaling: null });
    });

    it('partial autoscaling is completed from the preset, keeping min <= max', () => {
      expect(
        effectiveSpec(app({ users: 100_000, api: { autoscaling: { maxReplicas: 2 } } })).api.autoscaling,
      ).to.include({
        minReplicas: 2,
        maxReplicas: 2,
      });
      expect(
        effectiveSpec(app({ users: 1_000, api: { autoscaling: { minReplicas: 30 } } })).api.autoscaling,
      ).to.include({
        minReplicas: 30,
        maxReplicas: 30,
      });
      expect(
        effectiveSpec(
          app({ users: 1, api: { autoscaling: { targetCPUUtilizationPercentage: 50, behavior: {} } } }),
        ).api.autoscaling,
      ).to.deep.equal({ minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 50, behavior: {} });
    });

    it('tiers switched off with enabled: false stay off at a big stage', () => {
      const e = effectiveSpec(
        app({
          users: 100_000,
          web: { enabled: false },
          ingress: { enabled: false },
          cdn: { enabled: false },
          cache: { enabled: false },
        }),
      );
      expect([e.web, e.ingress, e.cdn, e.cache]).to.deep.equal([null, null, null, null]);
    });

    it('tiers configured below their stage are switched on', () => {
      const e = effectiveSpec(
        app({ users: 1, web: {}, cache: { ttlSeconds: 5 }, ingress: { webHost: 'g.example.com' } }),
      );
      expect(e.stage).to.equal('single-machine');
      expect(e.web).to.include({ enabled: true, replicas: 1 });
      expect(e.cache).to.include({ mode: 'standalone', shards: 1, replicasPerShard: 0, ttlSeconds: 5 });
      expect(e.ingress).to.deep.equal({ webHost: 'g.example.com', annotations: {} });
    });

    it('external database drops the in-cluster replicas', () => {
      const e = effectiveSpec(app({ users: 100_000, database: { external: { secretName: 'rds' } } }));
      expect(e.database).to.include({ placement: 'external', readReplicas: 0 });
      expect(e.database.external).to.deep.equal({ secretName: 'rds', sslRootCert: null });
      const withCa = effectiveSpec(app({ users: 10, database: { external: { secretName: 'rds', sslRootCert: { secretName: 'rds-ca' } } } }));
      expect(withCa.database.external?.sslRootCert).to.deep.equal({ secretName: 'rds-ca', key: 'ca.crt' });
    });

    it('admits the in-cluster database\'s clients from the non-global ranges unless allowedCIDRs is set', () => {
      expect(effectiveSpec(app({ users: 10 })).database.allowedCIDRs).to.deep.equal(['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16', '198.18.0.0/15', 'fc00::/7']);
      expect(effectiveSpec(app({ users: 10, database: { allowedCIDRs: ['10.244.0.0/16'] } })).database.allowedCIDRs).to.deep.equal(['10.244.0.0/16']);
    });

    it('database, cache and cdn fields', () => {
      const e = effectiveSpec(
        app({
          users: 100_000,
          database: {
            readReplicas: 1,
            storage: { size: '3Gi', storageClassName: 'fast' },
            version: '17',
            resources: {},
          },
          cache: { shards: 5, replicasPerShard: 0 },
          cdn: { publicBaseURL: 'https://cdn.example.com', origin: { s3: { bucket: 'photos' } } },
        }),
      );
      expect(e.database).to.deep.include({
        readReplicas: 1,
        version: '17',
        resources: {},
        storage: { size: '3Gi', storageClassName: 'fast' },
      });
      expect(e.cache).to.include({ mode: 'cluster', shards: 5, replicasPerShard: 0 });
      expect(e.cdn).to.deep.equal({
        publicBaseURL: 'https://cdn.example.com',
        origin: { kind: 's3', s3: { bucket: 'photos', region: 'us-east-1' } },
      });
    });

    it('read replicas at a small stage move the database into a StatefulSet', () => {
      expect(effectiveSpec(app({ users: 1, database: { readReplicas: 1 } })).database.placement).to.equal(
        'in-cluster',
      );
    });

    it('paused and resources', () => {
      const resources = { limits: { cpu: 2, memory: '1Gi' } };
      const e = effectiveSpec(app({ paused: true, api: { resources } }));
      expect(e.paused).to.equal(true);
      expect(e.api.resources).to.deep.equal(resources);
    });
  });

  describe('the examples', () => {
    STAGES.forEach((stage, i) => {
      it(`examples/stage-${i + 1}-${stage}.yaml resolves to ${stage}`, async () => {
        const url = new URL(`../../../examples/stage-${i + 1}-${stage}.yaml`, import.meta.url);
        const example = parse(await readFile(url, 'utf8')) as { spec: GraminstaAppSpec };
        expect(resolveStage(example)).to.equal(stage);
        const { users: _users, ...withoutUsers } = example.spec;
        expect(resolveStage({ spec: withoutUsers }), 'without users').to.equal(
          stage === 'split-database' ? stage : stage,
        );
      });
    });
  });
});
