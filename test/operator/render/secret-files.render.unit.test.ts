import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import type { RenderedObject } from '../../../operator/render/app.render.js';
import { SECRET_FILE_MODE, SECRETS_DIR, SETTINGS_FROM_SECRETS } from '../../../operator/render/secret-files.render.js';
import { SCRIPTS_DIR } from '../../../operator/render/constants.render.js';
import { parseScriptEnv } from '../../../operator/render/scripts/script-contract.js';
import { SCRIPTS } from '../../../operator/render/scripts/scripts.gen.js';
import { FILE_VARIABLES, PATH_FILE_VARIABLES } from '../../../service/config.js';
import { app, ctx, render } from './helpers.js';

const specs: [string, GraminstaAppSpec][] = [
  ...readdirSync('examples')
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f): [string, GraminstaAppSpec] => [f, (parse(readFileSync(`examples/${f}`, 'utf8')) as { spec: GraminstaAppSpec }).spec]),
  ['external database', { users: 1000, database: { external: { secretName: 'rds-credentials' } } }],
  ['S3 with credentials', { users: 10000, cdn: { origin: { s3: { bucket: 'photos', credentialsSecret: 'photos-s3' } } } }],
  // A move between stores: the sync-images Jobs carry both stores' secrets.
  ['images moving to S3', { users: 10000, cdn: { origin: { s3: { bucket: 'photos', credentialsSecret: 'photos-s3' } } } }],
];

function podSpecs(objects: RenderedObject[]): [string, V1PodSpec][] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind!))
    .map((o) => [`${o.kind}/${o.metadata!.name}`, (o as { spec: { template: { spec: V1PodSpec } } }).spec.template.spec]);
}

const containersOf = (spec: V1PodSpec): V1Container[] => [...(spec.initContainers ?? []), ...spec.containers];

const scriptFileVariables = new Set(Object.values(SCRIPTS).flatMap((s) => parseScriptEnv(s).map((v) => v.name)));

/** Whether the program in the container reads this *_FILE variable: the service's config, or the data-tier script it runs. */
function readsFile(c: V1Container, fileVariable: string): boolean {
  const name = fileVariable.replace(/_FILE$/, '');
  const runsScript = (c.command ?? []).some((arg) => arg.endsWith('.sh'));
  return runsScript ? scriptFileVariables.has(fileVariable) : [...FILE_VARIABLES, ...PATH_FILE_VARIABLES].includes(name as never);
}

describe('Secrets as files (render)', () => {
  for (const [name, spec] of specs) {
    it(`${name}: no container reads a password or key from a Secret through env; each reads its file from a mounted key`, () => {
      const a = app(spec);
      const withStore = name === 'images moving to S3' ? { ...a, status: { imageStore: { kind: 'origin' as const } } } : a;
      const objects = render(withStore, ctx());
      const secretValues = objects
        .filter((o) => o.kind === 'Secret')
        .flatMap((o) => {
          const { stringData, data } = o as { stringData?: Record<string, string>; data?: Record<string, string> };
          return [...Object.values(stringData ?? {}), ...Object.values(data ?? {}).map((v) => atob(v))];
        });
      let files = 0;
      for (const [what, pod] of podSpecs(objects)) {
        expect(pod.securityContext?.fsGroup, `${what}: fsGroup`).to.be.a('number');
        for (const c of containersOf(pod)) {
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            expect(!!ref && !SETTINGS_FROM_SECRETS.has(e.name), `${what} ${c.name}: env ${e.name} from a Secret`).to.equal(false);
            expect(/PASSWORD|TOKEN|SECRET|AWS_/.test(e.name) && !!ref, `${what} ${c.name}: ${e.name} from a Secret`).to.equal(false);
            expect(secretValues, `${what} ${c.name}: env ${e.name} carries a secret value`).not.to.include(e.value);
            // Files of the scripts ConfigMap (the Redis nodes' wanted node list) are no Secret.
            if (!e.name.endsWith('_FILE') || e.value?.startsWith(`${SCRIPTS_DIR}/`)) continue;
            files++;
            expect(readsFile(c, e.name), `${what} ${c.name}: nothing reads ${e.name}`).to.equal(true);
            const [, secret, key] = new RegExp(`^${SECRETS_DIR}/([^/]+)/([^/]+)$`).exec(e.value!)!;
            const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === `${SECRETS_DIR}/${secret}`);
            expect(mount?.readOnly, `${what} ${c.name}: ${e.name} is mounted read-only`).to.equal(true);
            const volume = (pod.volumes ?? []).find((v) => v.name === mount!.name);
            expect(volume?.secret?.secretName).to.equal(secret);
            expect(volume?.secret?.defaultMode).to.equal(SECRET_FILE_MODE);
            expect(volume?.secret?.items?.map((i) => i.key)).to.include(key);
          }
        }
      }
      expect(files).to.be.greaterThan(0);
    });
  }

  it('mounts only the keys a pod reads (the API never sees the replication password)', () => {
    const api = podSpecs(render(app({ users: 100000 }), ctx())).find(([w]) => w === 'Deployment/graminsta-api')![1];
    const db = api.volumes!.find((v) => v.secret?.secretName === 'graminsta-db')!;
    expect(db.secret!.items).to.deep.equal([{ key: 'password', path: 'password' }]);
    // The server's key stays in the Postgres pods; clients mount the CA certificate only, and nobody the CA's key.
    const tls = api.volumes!.find((v) => v.secret?.secretName === 'graminsta-db-tls')!;
    expect(tls.secret!.items).to.deep.equal([{ key: 'ca.crt', path: 'ca.crt' }]);
    const all = podSpecs(render(app({ users: 100000 }), ctx()));
    expect(all.flatMap(([, pod]) => pod.volumes ?? []).filter((v) => v.secret?.secretName === 'graminsta-db-ca')).to.deep.equal([]);
    const primary = all.find(([w]) => w === 'StatefulSet/graminsta-db')![1];
    expect(primary.volumes!.find((v) => v.secret?.secretName === 'graminsta-db-tls')!.secret!.items!.map((i) => i.key)).to.deep.equal(['ca.crt', 'tls.crt', 'tls.key']);
    expect(SECRET_FILE_MODE).to.equal(0o440);
  });

  it('keeps only non-secret settings of an external database as env entries from a Secret', () => {
    expect([...SETTINGS_FROM_SECRETS].filter((n) => /PASSWORD|TOKEN|SECRET|KEY/.test(n))).to.deep.equal([]);
  });
});
