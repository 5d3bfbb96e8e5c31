import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { parse } from 'yaml';
import { effectiveSpec } from '../../../operator/api/presets.api.js';
import type { GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import {
  createTestNamespace,
  deleteTestNamespace,
  getCluster,
  repoRoot,
  waitFor,
  type TestCluster,
} from '../../support/cluster.js';

use(chaiAsPromised);

type Json = Record<string, unknown>;

function expectContained(actual: unknown, expected: unknown, path: string): void {
  if (expected !== null && typeof expected === 'object') {
    expect(actual, path).to.be.an('object');
    for (const [key, value] of Object.entries(expected))
      expectContained((actual as Json)[key], value, `${path}.${key}`);
  } else {
    expect(actual, path).to.equal(expected);
  }
}

function app(name: string, spec: unknown, metadata: Json = {}): Json {
  return { apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', metadata: { name, ...metadata }, spec };
}

/** [case name, spec, a pattern the API server's message must contain (the offending field)]. */
const INVALID: [string, unknown, RegExp][] = [
  ['users = 0', { users: 0 }, /spec\.users/],
  ['users is a string', { users: 'many' }, /spec\.users/],
  ['negative api replicas', { api: { replicas: -1 } }, /spec\.api\.replicas/],
  ['fractional api replicas', { api: { replicas: 1.5 } }, /spec\.api\.replicas/],
  [
    'api minReplicas > maxReplicas',
    { api: { autoscaling: { minReplicas: 5, maxReplicas: 2 } } },
    /spec\.api\.autoscaling\.minReplicas.*minReplicas must be less than or equal to maxReplicas/,
  ],
  [
    'web minReplicas > maxReplicas',
    { web: { autoscaling: { minReplicas: 5, maxReplicas: 2 } } },
    /spec\.web\.autoscaling\.minReplicas/,
  ],
  [
    'api minReplicas = 0',
    { api: { autoscaling: { minReplicas: 0 } } },
    /spec\.api\.autoscaling\.minReplicas/,
  ],
  [
    'CPU target above 100 %',
    { api: { autoscaling: { targetCPUUtilizationPercentage: 150 } } },
    /spec\.api\.autoscaling\.targetCPUUtilizationPercentage/,
  ],
  [
    'two origin kinds at once',
    { cdn: { origin: { s3: { bucket: 'photos' }, volume: { size: '1Gi' } } } },
    /spec\.cdn\.origin.*exactly one of s3 or volume/,
  ],
  ['no origin kind', { cdn: { origin: {} } }, /spec\.cdn\.origin.*exactly one of s3 or volume/],
  [
    'external database with readReplicas',
    { database: { external: { secretName: 'rds' }, readReplicas: 2 } },
    /spec\.database\.readReplicas.*external/,
  ],
  [
    'external database with storage',
    { database: { external: { secretName: 'rds' }, storage: { size: '1Gi' } } },
    /spec\.database\.storage.*external/,
  ],
  [
    'external database with version',
    { database: { external: { secretName: 'rds' }, version: '16' } },
    /spec\.database\.version.*external/,
  ],
  [
    'external database with resources',
    { database: { external: { secretName: 'rds' }, resources: {} } },
    /spec\.database\.resources.*external/,
  ],
  [
    'external database with backup',
    { database: { external: { secretName: 'rds' }, backup: { schedule: '@daily', destination: { s3: { bucket: 'backups' } } } } },
    /spec\.database\.backup: Forbidden: backup must not be set together with external/,
  ],
  [
    'external database with restoreFrom',
    { database: { external: { secretName: 'rds' }, restoreFrom: { s3: { bucket: 'backups' } } } },
    /spec\.database\.restoreFrom: Forbidden: restoreFrom must not be set together with external/,
  ],
  [
    'backup retention by count and days at once',
    { users: 10, database: { backup: { schedule: '@daily', retention: { count: 3, days: 7 }, destination: { s3: { bucket: 'backups' } } } } },
    /spec\.database\.backup\.retention.*exactly one of count or days/,
  ],
  [
    'backup schedule that is not a cron expression',
    { users: 10, database: { backup: { schedule: 'every night', destination: { s3: { bucket: 'backups' } } } } },
    /spec\.database\.backup\.schedule/,
  ],
  [
    'backup without a destination',
    { users: 10, database: { backup: { schedule: '@daily' } } },
    /spec\.database\.backup\.destination: Required/,
  ],
  [
    'backup prefix with a leading slash',
    { users: 10, database: { backup: { schedule: '@daily', destination: { s3: { bucket: 'backups', prefix: '/graminsta' } } } } },
    /spec\.database\.backup\.destination\.s3\.prefix/,
  ],
  [
    'restoreFrom a backup name that is neither latest nor a backup name',
    { users: 10, database: { restoreFrom: { s3: { bucket: 'backups' }, backup: 'yesterday' } } },
    /spec\.database\.restoreFrom\.backup/,
  ],
  [
    'external database without secretName',
    { database: { external: {} } },
    /spec\.database\.external\.secretName/,
  ],
  ['shards = 2', { cache: { shards: 2 } }, /spec\.cache\.shards.*1 \(standalone\) or at least 3/],
  ['shards = 0', { cache: { shards: 0 } }, /spec\.cache\.shards/],
  [
    'replicasPerShard on a standalone Redis',
    { cache: { shards: 1, replicasPerShard: 1 } },
    /spec\.cache\.replicasPerShard/,
  ],
  ['ttlSeconds = 0', { cache: { ttlSeconds: 0 } }, /spec\.cache\.ttlSeconds/],
  ['monitoring enabled as a string', { monitoring: { enabled: 'yes' } }, /spec\.monitoring\.enabled/],
  ['a monitoring label value that is not a label value', { monitoring: { enabled: true, labels: { release: 'kube prometheus' } } }, /spec\.monitoring\.labels\.release/],
  ['more than 16 monitoring labels', { monitoring: { labels: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`l${i}`, 'x'])) } }, /spec\.monitoring\.labels/],
  [
    'publicBaseURL with an ftp scheme',
    { cdn: { publicBaseURL: 'ftp://cdn.example.com' } },
    /spec\.cdn\.publicBaseURL/,
  ],
  ['publicBaseURL that is not a URL', { cdn: { publicBaseURL: 'cdn example' } }, /spec\.cdn\.publicBaseURL/],
  [
    'S3 endpoint without a scheme',
    { cdn: { origin: { s3: { bucket: 'photos', endpoint: 'localhost:9000' } } } },
    /spec\.cdn\.origin\.s3\.endpoint/,
  ],
  [
    'S3 bucket with capitals',
    { cdn: { origin: { s3: { bucket: 'My_Photos' } } } },
    /spec\.cdn\.origin\.s3\.bucket/,
  ],
  [
    'host with an underscore',
    { ingress: { apiHost: 'api_graminsta.example.com' } },
    /spec\.ingress\.apiHost/,
  ],
  [
    'host given as a URL',
    { ingress: { webHost: 'https://graminsta.example.com' } },
    /spec\.ingress\.webHost/,
  ],
  [
    'tls without any host',
    { ingress: { tls: { secretName: 'graminsta-tls' } } },
    /spec\.ingress\.tls.*tls requires apiHost or webHost/,
  ],
  [
    'tls secret name with capitals',
    { ingress: { apiHost: 'api.example.com', tls: { secretName: 'Graminsta_TLS' } } },
    /spec\.ingress\.tls\.secretName/,
  ],
  [
    'gatewayRef with className',
    { ingress: { gatewayRef: { name: 'public' }, className: 'nginx' } },
    /spec\.ingress\.gatewayRef.*gatewayRef excludes the Ingress-only fields className and tls/,
  ],
  [
    'gatewayRef with tls',
    { ingress: { gatewayRef: { name: 'public' }, webHost: 'graminsta.example.com', tls: { secretName: 'graminsta-tls' } } },
    /spec\.ingress\.gatewayRef.*gatewayRef excludes the Ingress-only fields className and tls/,
  ],
  ['gatewayRef without a name', { ingress: { gatewayRef: { namespace: 'infra' } } }, /spec\.ingress\.gatewayRef\.name: Required/],
  ['gatewayRef namespace that is not a DNS label', { ingress: { gatewayRef: { name: 'public', namespace: 'infra.example' } } }, /spec\.ingress\.gatewayRef\.namespace/],
  ['gatewayRef scheme other than http or https', { ingress: { gatewayRef: { name: 'public', scheme: 'tcp' } } }, /spec\.ingress\.gatewayRef\.scheme/],
  ['gatewayRef sectionName with capitals', { ingress: { gatewayRef: { name: 'public', sectionName: 'HTTPS' } } }, /spec\.ingress\.gatewayRef\.sectionName/],
  [
    'annotation value that is a number',
    { ingress: { annotations: { 'example.com/x': 5 } } },
    /spec\.ingress\.annotations/,
  ],
  ['unknown top-level field', { users: 10, replicas: 3 }, /unknown field "spec\.replicas"/],
  ['unknown nested field', { api: { replica: 3 } }, /unknown field "spec\.api\.replica"/],
  [
    'bad memory quantity',
    { api: { resources: { limits: { memory: '1GB' } } } },
    /spec\.api\.resources\.limits\.memory/,
  ],
  [
    'request above its limit',
    { web: { resources: { requests: { cpu: '2' }, limits: { cpu: '500m' } } } },
    /spec\.web\.resources\.requests.*each request must be less than or equal to its limit/,
  ],
  [
    'several API pods while Postgres shares the pod',
    { users: 1, api: { replicas: 2 } },
    /spec\.api.*single-machine/,
  ],
  [
    'API autoscaling while Postgres shares the pod',
    { users: 9, api: { autoscaling: {} } },
    /spec\.api.*single-machine/,
  ],
  ['several API pods with nothing else configured', { api: { replicas: 3 } }, /spec\.api.*single-machine/],
  ['bad volume size', { cdn: { origin: { volume: { size: 'big' } } } }, /spec\.cdn\.origin\.volume\.size/],
  ['image with capitals in the path', { image: 'Graminsta/App:1' }, /spec\.image/],
  ['image with a space in the tag', { image: 'graminsta:bad tag' }, /spec\.image/],
  ['image with a short digest', { image: 'graminsta@sha256:abc123' }, /spec\.image/],
  ['image with a digest of another algorithm', { image: `graminsta@md5:${'a'.repeat(32)}` }, /spec\.image/],
  ['Postgres image with capitals', { database: { image: 'Postgres:16' } }, /spec\.database\.image/],
  ['Postgres image with an uppercase digest', { database: { image: `postgres@sha256:${'A'.repeat(64)}` } }, /spec\.database\.image/],
  ['Redis image with a digest one digit short', { users: 100000, cache: { image: `redis:7.4@sha256:${'a'.repeat(63)}` } }, /spec\.cache\.image/],
  ['image with a digest before the tag', { image: `graminsta@sha256:${'a'.repeat(64)}:1.0` }, /spec\.image/],
  [
    'Postgres image with an external database',
    { database: { external: { secretName: 'rds' }, image: 'postgres:16' } },
    /spec\.database\.image.*must not be set together with external/,
  ],
  ['Redis image with a space', { cache: { image: 'redis:7 alpine' } }, /spec\.cache\.image/],
  ['Redis image too long', { cache: { image: `r/${'x'.repeat(520)}` } }, /spec\.cache\.image/],
  ['unsupported Postgres version', { database: { version: '9' } }, /spec\.database\.version/],
  ['too many read replicas', { database: { readReplicas: 100 } }, /spec\.database\.readReplicas/],
  ['replica lag bound of zero', { database: { readReplicas: 2, maxReplicaLagSeconds: 0 } }, /spec\.database\.maxReplicaLagSeconds/],
  ['replica lag bound as a string', { database: { readReplicas: 2, maxReplicaLagSeconds: '30s' } }, /spec\.database\.maxReplicaLagSeconds/],
  [
    'replica lag bound with an external database',
    { database: { external: { secretName: 'rds' }, maxReplicaLagSeconds: 10 } },
    /spec\.database\.maxReplicaLagSeconds.*must not be set together with external/,
  ],
  [
    'storage class with capitals',
    { database: { storage: { storageClassName: 'Fast' } } },
    /spec\.database\.storage\.storageClassName/,
  ],
  ['paused as a string', { paused: 'yes' }, /spec\.paused/],
  ['web.enabled as a string', { web: { enabled: 'true' } }, /spec\.web\.enabled/],
  ['negative login limit', { api: { rateLimits: { login: { perIP: -1 } } } }, /spec\.api\.rateLimits\.login\.perIP/],
  ['rate-limit window of 0 s', { api: { rateLimits: { uploads: { windowSeconds: 0 } } } }, /spec\.api\.rateLimits\.uploads\.windowSeconds/],
  ['too many trusted proxies', { api: { rateLimits: { trustedProxyHops: 9 } } }, /spec\.api\.rateLimits\.trustedProxyHops/],
  [
    'rate limits set while switched off',
    { api: { rateLimits: { enabled: false, login: { perIP: 5 } } } },
    /spec\.api\.rateLimits\.enabled.*have no effect while enabled is false/,
  ],
  ['an empty ingressFrom peer', { networkPolicy: { ingressFrom: [{}] } }, /spec\.networkPolicy\.ingressFrom\[0\].*needs podSelector, namespaceSelector or ipBlock/],
  [
    'ipBlock beside a podSelector',
    { networkPolicy: { ingressFrom: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] } },
    /spec\.networkPolicy\.ingressFrom\[0\]\.ipBlock.*must be the only field/,
  ],
  ['ipBlock that is not a CIDR', { networkPolicy: { ingressFrom: [{ ipBlock: { cidr: '10.0.0.300/8' } }] } }, /spec\.networkPolicy\.ingressFrom\[0\]\.ipBlock\.cidr.*must be a CIDR/],
  [
    'In without values',
    { networkPolicy: { ingressFrom: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } }] } },
    /spec\.networkPolicy\.ingressFrom\[0\]\.podSelector\.matchExpressions\[0\]\.values.*non-empty for In and NotIn/,
  ],
  [
    'ingressFrom while switched off',
    { networkPolicy: { enabled: false, ingressFrom: [{ namespaceSelector: {} }] } },
    /spec\.networkPolicy\.ingressFrom.*no effect while enabled is false/,
  ],
];

describe('GraminstaApp CRD against the API server', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let namespace: string;

  async function kubectlOk(args: string[], input?: string): Promise<string> {
    const out = await cluster.kubectl(['-n', namespace, ...args], input === undefined ? {} : { input });
    if (out.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${out.stderr.trim()}`);
    return out.stdout;
  }

  /** Creates the object with server-side strict field validation; rejects with the API server's message. */
  function create(obj: Json, dryRun = false): Promise<string> {
    const args = ['create', '--validate=strict', '-o', 'json', '-f', '-'];
    return kubectlOk(dryRun ? [...args, '--dry-run=server'] : args, JSON.stringify(obj));
  }

  before(async () => {
    cluster = await getCluster();
    namespace = await createTestNamespace('api-crd');
  });

  after(async () => {
    if (namespace) await deleteTestNamespace(namespace);
  });

  it('installs and becomes Established with its names', async () => {
    const crd = JSON.parse(await kubectlOk(['get', 'crd', 'graminstaapps.graminsta.io', '-o', 'json'])) as {
      spec: { names: { shortNames: string[] } };
      status: { conditions: { type: string; status: string }[] };
    };
    expect(crd.status.conditions).to.deep.include.members([
      { ...crd.status.conditions.find((c) => c.type === 'Established')!, status: 'True' },
    ]);
    expect(crd.spec.names.shortNames).to.have.members(['gapp', 'graminsta']);
  });

  it('kubectl explain teaches the API', async () => {
    let out = '';
    await waitFor(
      'the GraminstaApp OpenAPI to be published',
      60_000,
      async () => {
        const res = await cluster.kubectl(['explain', 'graminstaapp.spec.api.autoscaling']);
        out = res.stdout.replace(/\s+/g, ' ');
        return res.code === 0 && out.includes('maxReplicas');
      },
      1000,
    );
    expect(out).to.include('HorizontalPodAutoscaler');
    expect(out).to.match(/minReplicas <integer>/);
    expect(out).to.include('Lower bound of the replica count chosen by the autoscaler');
    expect(out).to.include('passed unchanged to the HorizontalPodAutoscaler');
  });

  describe('accepts the examples (fieldValidation=Strict)', () => {
    it('every stage example and the sample', async () => {
      const files = (await readdir(join(repoRoot, 'examples'))).filter((f) => f.endsWith('.yaml')).sort();
      expect(files).to.include.members([
        'gateway.yaml',
        'graminsta.yaml',
        'stage-1-single-machine.yaml',
        'stage-2-split-database.yaml',
        'stage-3-split-clients.yaml',
        'stage-4-load-balanced.yaml',
        'stage-5-cdn.yaml',
        'stage-6-data-layer.yaml',
      ]);
      for (const file of files) {
        const example = parse(await readFile(join(repoRoot, 'examples', file), 'utf8')) as Json & {
          metadata: Json;
          spec: Json;
        };
        const name = `ex-${file.replace(/\.yaml$/, '').replace(/[^a-z0-9]+/g, '-')}`
          .slice(0, 40)
          .replace(/-$/, '');
        const stored = JSON.parse(await create({ ...example, metadata: { ...example.metadata, name } })) as {
          spec: Json;
        };
        // Nothing was pruned: every field the example sets is stored as written.
        expectContained(stored.spec, example.spec, `${file}: spec`);
      }
    });

    it('applies the safe defaults', async () => {
      const stored = JSON.parse(
        await create(app('defaults', { cache: {}, api: { autoscaling: { maxReplicas: 4 } } })),
      ) as {
        spec: { cache: Json; api: { autoscaling: Json } };
      };
      expect(stored.spec.cache).to.deep.equal({ ttlSeconds: 30 });
      expect(stored.spec.api.autoscaling).to.deep.equal({
        maxReplicas: 4,
        targetCPUUtilizationPercentage: 70,
      });
    });

    it('image references with a registry port, a digest or none at all', async () => {
      const digest = 'sha256:' + 'a'.repeat(64);
      for (const image of [
        '',
        'graminsta',
        'localhost:5000/graminsta:dev',
        'ghcr.io/graminsta/graminsta:0.1.0',
        `registry.example.com/a/b@${digest}`,
        `registry.example.com:5000/a/b:1.2.3@${digest}`,
      ]) {
        await create(app('image', { image }), true);
        await create(app('images', { users: 100000, database: { image }, cache: { image } }), true);
      }
    });

    it('an empty spec, several API pods once the database is split, quantities given as integers', async () => {
      await create(app('empty', {}), true);
      await create(
        app('tiers-split', { api: { replicas: 2 }, database: { storage: { size: '1Gi' } } }),
        true,
      );
      await create(app('users-split', { users: 10, api: { replicas: 2 } }), true);
      // A Gateway in the app's namespace, with the annotations and hosts the HTTPRoutes carry.
      await create(app('gateway', { ingress: { gatewayRef: { name: 'public' }, apiHost: 'api.example.com', annotations: { 'external-dns.alpha.kubernetes.io/ttl': '60' } } }), true);
      await create(
        app('small-split', { users: 1, api: { replicas: 2 }, database: { readReplicas: 1 } }),
        true,
      );
      await create(
        app('ints', {
          api: { resources: { limits: { cpu: 2, memory: '1Gi' } } },
          database: { storage: { size: 1073741824 } },
        }),
        true,
      );
    });
  });

  it('accepts backups and a restore of the in-cluster database', async () => {
    await create(
      {
        apiVersion: 'graminsta.io/v1alpha1',
        kind: 'GraminstaApp',
        metadata: { name: 'backed-up', namespace },
        spec: {
          users: 10,
          database: {
            backup: { schedule: '0 3 * * *', retention: { days: 14 }, destination: { s3: { bucket: 'backups', endpoint: 'http://minio.storage:9000', region: 'eu-west-1', credentialsSecret: 'backup-s3', prefix: 'graminsta/photos' } } },
            restoreFrom: { s3: { bucket: 'backups', prefix: 'graminsta/photos' }, backup: '20261202T031500Z' },
          },
        },
      },
      true,
    );
  });

  describe('rejects invalid specs at admission, naming the field', () => {
    it(`has at least 25 cases (${INVALID.length})`, () => expect(INVALID.length).to.be.at.least(25));
    for (const [name, spec, field] of INVALID) {
      it(name, async () => {
        await expect(create(app('invalid', spec), true)).to.be.rejectedWith(field);
      });
    }

    it('a name too long for the child objects', async () => {
      await expect(create(app('a'.repeat(41), {}), true)).to.be.rejectedWith(
        /metadata\.name must be a DNS-1035 label of at most 40 characters/,
      );
    });

    it('a name that is not a DNS-1035 label', async () => {
      await expect(create(app('9photos', {}), true)).to.be.rejectedWith(
        /metadata\.name must be a DNS-1035 label/,
      );
    });

    it('the single-machine CEL rule agrees with the presets on where Postgres runs', async () => {
      const several = { replicas: 2 };
      const specs: GraminstaAppSpec[] = [
        { api: several },
        { users: 1, api: several },
        { users: 9, api: { autoscaling: {} } },
        { users: 10, api: several },
        { users: 1, api: several, database: { readReplicas: 1 } },
        { users: 1, api: several, database: { external: { secretName: 'rds' } } },
        { users: 1, api: several, database: { storage: { size: '1Gi' } } },
        { users: 1, api: several, web: {} },
        { api: several, database: { storage: { size: '1Gi' } } },
        { api: several, database: { external: { secretName: 'rds' } } },
        { api: several, web: {} },
        { api: several, web: { enabled: false } },
        { api: several, ingress: {} },
        { api: several, ingress: { enabled: false } },
        { api: several, cdn: { enabled: false } },
        { api: several, cdn: {} },
        { api: several, cache: {} },
        { api: several, cache: { enabled: false } },
        { api: { autoscaling: {} } },
        { api: { replicas: 1 } },
      ];
      for (const spec of specs) {
        const e = effectiveSpec({ spec });
        const shouldReject =
          e.database.placement === 'embedded' && (e.api.replicas > 1 || e.api.autoscaling !== null);
        const attempt = create(app('twin', spec), true);
        if (shouldReject)
          await expect(attempt, JSON.stringify(spec)).to.be.rejectedWith(/spec\.api.*single-machine/);
        else await expect(attempt, JSON.stringify(spec)).to.be.fulfilled;
      }
    });

    it('a volume that shrinks or changes its StorageClass', async () => {
      await create(app('volumes', { database: { storage: { size: '10Gi', storageClassName: 'fast' } } }));
      const patch = (storage: Json) =>
        kubectlOk([
          'patch',
          'graminstaapp',
          'volumes',
          '--type=merge',
          '-p',
          JSON.stringify({ spec: { database: { storage } } }),
        ]);
      await expect(patch({ size: '5Gi' })).to.be.rejectedWith(
        /spec\.database\.storage\.size.*can not shrink/,
      );
      await expect(patch({ storageClassName: 'slow' })).to.be.rejectedWith(
        /spec\.database\.storage\.storageClassName.*immutable/,
      );
      await patch({ size: 21474836480 });
      expect(
        await kubectlOk(['get', 'gapp', 'volumes', '-o', 'jsonpath={.spec.database.storage.size}']),
      ).to.equal('21474836480');
    });

    it('an update that breaks a rule', async () => {
      await create(app('update', { api: { autoscaling: { minReplicas: 2, maxReplicas: 4 } } }));
      await expect(
        kubectlOk([
          'patch',
          'graminstaapp',
          'update',
          '--type=merge',
          '-p',
          '{"spec":{"api":{"autoscaling":{"minReplicas":9}}}}',
        ]),
      ).to.be.rejectedWith(/spec\.api\.autoscaling\.minReplicas/);
    });
  });

  describe('subresources and printer columns', () => {
    it('kubectl scale sets spec.api.replicas even when it was unset', async () => {
      await create(app('unscaled', { users: 1000 }));
      await kubectlOk(['scale', 'graminstaapp', 'unscaled', '--replicas=3']);
      expect(await kubectlOk(['get', 'gapp', 'unscaled', '-o', 'jsonpath={.spec.api.replicas}'])).to.equal(
        '3',
      );
    });

    it('kubectl scale changes spec.api.replicas', async () => {
      await create(app('scaled', { users: 10, api: { replicas: 2 } }));
      await kubectlOk(['scale', 'graminstaapp', 'scaled', '--replicas=4']);
      const replicas = await kubectlOk(['get', 'gapp', 'scaled', '-o', 'jsonpath={.spec.api.replicas}']);
      expect(replicas).to.equal('4');
      await expect(kubectlOk(['scale', 'graminstaapp', 'scaled', '--replicas=-1'])).to.be.rejected;
    });

    it('status is a subresource and feeds the printer columns', async () => {
      // GET .../scale fails while spec.api.replicas is unset (a Kubernetes limitation), so this app sets it.
      await create(app('printed', { users: 100000, api: { replicas: 3 } }));
      const status = {
        status: {
          stage: 'data-layer',
          api: { replicas: 3, readyReplicas: 2, summary: '2/3' },
          database: { primaryReady: true, readyReplicas: 2, summary: 'ready+2/2' },
          cache: { readyNodes: 6, summary: '6/6' },
          conditions: [
            {
              type: 'Ready',
              status: 'False',
              reason: 'ApiNotReady',
              message: '2 of 3 API pods ready',
              lastTransitionTime: '2026-01-01T00:00:00Z',
            },
          ],
          replicas: 3,
          selector: 'app.kubernetes.io/instance=printed',
        },
      };
      await kubectlOk([
        'patch',
        'graminstaapp',
        'printed',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify(status),
      ]);
      const table = await kubectlOk(['get', 'graminsta', 'printed']);
      const [header, row] = table.trim().split('\n');
      expect(header!.split(/\s+/)).to.deep.equal(['NAME', 'STAGE', 'API', 'DB', 'CACHE', 'READY', 'AGE']);
      expect(row!.split(/\s+/).slice(0, 6)).to.deep.equal([
        'printed',
        'data-layer',
        '2/3',
        'ready+2/2',
        '6/6',
        'False',
      ]);
      const scale = JSON.parse(
        await kubectlOk([
          'get',
          '--raw',
          `/apis/graminsta.io/v1alpha1/namespaces/${namespace}/graminstaapps/printed/scale`,
        ]),
      ) as {
        status: { replicas: number; selector: string };
      };
      expect(scale.status).to.deep.equal({ replicas: 3, selector: 'app.kubernetes.io/instance=printed' });
    });

    it('the main resource ignores status', async () => {
      const created = JSON.parse(
        await create({ ...app('split', { users: 1 }), status: { stage: 'cdn' } }),
      ) as Json;
      expect(created.status).to.equal(undefined);
    });
  });
});
