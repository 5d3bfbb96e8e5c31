import { expect } from 'chai';
import type { V1ConfigMap, V1Container, V1PodSpec, V1Secret } from '@kubernetes/client-node';
import { DEFAULT_DB_ALLOWED_CIDRS } from '../../../operator/api/presets.api.js';
import { checkedCIDR, ipVersion } from '../../../operator/render/plan.render.js';
import { SECRETS_DIR } from '../../../operator/render/secret-files.render.js';
import { SSL_MODES as RENDER_SSL_MODES } from '../../../operator/render/constants.render.js';
import { SSL_MODES } from '../../../service/db/tls.js';
import { app, ctx, plan, render } from './helpers.js';

const TLS_DATA = {
  'graminsta-db-ca': { 'ca.crt': 'CA CERT', 'ca.key': 'CA KEY' },
  'graminsta-db-tls': { 'tls.crt': 'SERVER CERT', 'tls.key': 'SERVER KEY', 'ca.crt': 'CA CERT' },
};

function containers(objects: ReturnType<typeof render>): Map<string, V1Container> {
  const out = new Map<string, V1Container>();
  for (const o of objects) {
    const spec = (o as { spec?: { template?: { spec?: V1PodSpec } } }).spec?.template?.spec;
    if (!spec) continue;
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) out.set(`${o.kind}/${o.metadata?.name}/${c.name}`, c);
  }
  return out;
}

function env(c: V1Container | undefined): Record<string, string | undefined> {
  return Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value]));
}

const tlsFiles = {
  POSTGRES_TLS_CERT_FILE: `${SECRETS_DIR}/graminsta-db-tls/tls.crt`,
  POSTGRES_TLS_KEY_FILE: `${SECRETS_DIR}/graminsta-db-tls/tls.key`,
  POSTGRES_TLS_CA_FILE: `${SECRETS_DIR}/graminsta-db-tls/ca.crt`,
};
const caFile = `${SECRETS_DIR}/graminsta-db-tls/ca.crt`;

describe('database TLS (render)', () => {
  it('names every Service of the database in short, namespaced, .svc and .svc.cluster.local forms, their pods and loopback', () => {
    const tls = plan(app({ users: 100000 })).databaseTls!;
    for (const svc of ['graminsta-db-rw', 'graminsta-db-ro', 'graminsta-db-headless', 'graminsta-db-replica-headless']) {
      expect(tls.dnsNames).to.include.members([svc, `${svc}.photos`, `${svc}.photos.svc`, `${svc}.photos.svc.cluster.local`]);
    }
    expect(tls.dnsNames).to.include.members(['*.graminsta-db-headless.photos.svc', '*.graminsta-db-replica-headless.photos.svc.cluster.local', 'localhost']);
    expect(tls.ipAddresses).to.deep.equal(['127.0.0.1', '::1']);
    // The first name is the certificate's subject: what replicas connect to.
    expect(tls.dnsNames[0]).to.equal('graminsta-db-rw');
    expect(plan(app({ users: 1000, database: { external: { secretName: 'rds' } } })).databaseTls).to.equal(null);
  });

  it('renders the CA and the server Secret with the data the reconciler issued, base64 as the API server keeps it', () => {
    const secrets = render(app({ users: 10 }), ctx(TLS_DATA)).filter((o): o is V1Secret => o.kind === 'Secret');
    const ca = secrets.find((s) => s.metadata?.name === 'graminsta-db-ca')!;
    const server = secrets.find((s) => s.metadata?.name === 'graminsta-db-tls')!;
    expect(ca.type).to.equal('Opaque');
    expect(ca.data).to.deep.equal({ 'ca.crt': btoa('CA CERT'), 'ca.key': btoa('CA KEY') });
    expect(server.type).to.equal('kubernetes.io/tls');
    expect(server.data).to.deep.equal({ 'tls.crt': btoa('SERVER CERT'), 'tls.key': btoa('SERVER KEY'), 'ca.crt': btoa('CA CERT') });
    // Applied like any object (a renewal is an update), not created once like the passwords.
    expect(server.metadata?.annotations?.['graminsta.io/generated']).to.equal(undefined);
  });

  it('serves TLS from every Postgres container (primary, replicas, the single pod) and admits loopback and the allowed networks', () => {
    for (const users of [1, 10, 100000]) {
      const cs = containers(render(app({ users }), ctx(TLS_DATA)));
      const pg = [...cs.entries()].filter(([, c]) => c.name === 'postgres');
      expect(pg.length, `users ${users}`).to.be.greaterThan(0);
      for (const [where, c] of pg) {
        expect(env(c), where).to.include({ ...tlsFiles, POSTGRES_ALLOWED_CIDRS: ['127.0.0.1/32', '::1/128', ...DEFAULT_DB_ALLOWED_CIDRS].join(' ') });
      }
    }
    const narrowed = containers(render(app({ users: 10, database: { allowedCIDRs: ['10.244.0.0/16'] } }), ctx(TLS_DATA)));
    expect(env(narrowed.get('StatefulSet/graminsta-db/postgres')).POSTGRES_ALLOWED_CIDRS).to.equal('127.0.0.1/32 ::1/128 10.244.0.0/16');
  });

  it('has every client verify the server (verify-full) with the CA file: the API, the migrate Job, the exporter, the single pod', () => {
    const split = containers(render(app({ users: 100000, monitoring: { enabled: true } }), ctx(TLS_DATA)));
    const api = split.get('Deployment/graminsta-api/api')!;
    expect(env(api).GRAMINSTA_DB_SSLROOTCERT_FILE).to.equal(caFile);
    const config = render(app({ users: 100000 }), ctx(TLS_DATA)).find((o): o is V1ConfigMap => o.metadata?.name === 'graminsta-api-config')!;
    expect(config.data).to.include({ GRAMINSTA_DB_SSLMODE: 'verify-full', GRAMINSTA_DB_HOST: 'graminsta-db-rw.photos.svc', GRAMINSTA_DB_REPLICA_HOSTS: 'graminsta-db-ro.photos.svc:5432' });
    const migrate = [...split.entries()].find(([k]) => k.startsWith('Job/graminsta-migrate-'))![1];
    expect(env(migrate)).to.include({ GRAMINSTA_DB_SSLMODE: 'verify-full', GRAMINSTA_DB_SSLROOTCERT_FILE: caFile });
    for (const where of ['StatefulSet/graminsta-db/metrics', 'StatefulSet/graminsta-db-replica/metrics']) {
      expect(env(split.get(where)), where).to.include({ GRAMINSTA_DB_HOST: '127.0.0.1', GRAMINSTA_DB_SSLMODE: 'verify-full', GRAMINSTA_DB_SSLROOTCERT_FILE: caFile });
    }
    const single = containers(render(app({ users: 1 }), ctx(TLS_DATA)));
    expect(env(single.get('StatefulSet/graminsta-db/migrate'))).to.include({ GRAMINSTA_DB_HOST: '127.0.0.1', GRAMINSTA_DB_SSLMODE: 'verify-full', GRAMINSTA_DB_SSLROOTCERT_FILE: caFile });
    expect(env(single.get('StatefulSet/graminsta-db/api')).GRAMINSTA_DB_SSLROOTCERT_FILE).to.equal(caFile);
  });

  it('keeps the certificates out of the config hashes: a renewal restarts no pod', () => {
    const hashes = (data: typeof TLS_DATA) =>
      render(app({ users: 100000 }), ctx(data))
        .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
        .map((o) => (o as { spec: { template: { metadata: { annotations: Record<string, string> } } } }).spec.template.metadata.annotations['graminsta.io/config-hash']);
    const renewed = { ...TLS_DATA, 'graminsta-db-tls': { 'tls.crt': 'NEW CERT', 'tls.key': 'NEW KEY', 'ca.crt': 'CA CERT' } };
    expect(hashes(renewed)).to.deep.equal(hashes(TLS_DATA));
  });

  it('mounts an external database\'s CA (spec.database.external.sslRootCert) into every pod that connects, and no certificate of its own', () => {
    const spec = { users: 1000, database: { external: { secretName: 'rds', sslRootCert: { secretName: 'rds-ca', key: 'bundle.pem' } } } };
    const objects = render(app(spec), ctx());
    expect(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata?.name)).to.not.include.members(['graminsta-db-ca', 'graminsta-db-tls']);
    const cs = containers(objects);
    const api = cs.get('Deployment/graminsta-api/api')!;
    expect(env(api).GRAMINSTA_DB_SSLROOTCERT_FILE).to.equal(`${SECRETS_DIR}/rds-ca/bundle.pem`);
    const migrate = [...cs.entries()].find(([k]) => k.startsWith('Job/graminsta-migrate-'))![1];
    expect(env(migrate).GRAMINSTA_DB_SSLROOTCERT_FILE).to.equal(`${SECRETS_DIR}/rds-ca/bundle.pem`);
    expect(env(containers(render(app({ users: 1000, database: { external: { secretName: 'rds' } } }), ctx())).get('Deployment/graminsta-api/api')).GRAMINSTA_DB_SSLROOTCERT_FILE).to.equal(undefined);
  });

  it('knows the same sslmode values as the service', () => {
    expect([...RENDER_SSL_MODES]).to.deep.equal([...SSL_MODES]);
  });

  it('refuses an allowedCIDRs entry that is not a CIDR, and an empty list, naming the field', () => {
    expect(() => plan(app({ users: 10, database: { allowedCIDRs: ['10.0.0.0/8', '10.0.0.300/8'] } }))).to.throw('spec.database.allowedCIDRs[1]: "10.0.0.300/8" is not a CIDR');
    expect(() => plan(app({ users: 10, database: { allowedCIDRs: ['fd00::/129'] } }))).to.throw('spec.database.allowedCIDRs[0]: "fd00::/129" is not a CIDR');
    expect(() => plan(app({ users: 10, database: { allowedCIDRs: ['10.0.0.0'] } }))).to.throw('spec.database.allowedCIDRs[0]');
    expect(() => plan(app({ users: 10, database: { allowedCIDRs: [] } }))).to.throw('spec.database.allowedCIDRs: must name at least one network');
    expect(checkedCIDR('fd00:10:244::/56', 'f')).to.equal('fd00:10:244::/56');
  });

  it('tells IPv4 and IPv6 addresses from other strings', () => {
    const cases: [string, 0 | 4 | 6][] = [
      ['10.244.0.0', 4],
      ['255.255.255.255', 4],
      ['256.1.1.1', 0],
      ['01.2.3.4', 0],
      ['::', 6],
      ['::1', 6],
      ['fd00::', 6],
      ['2001:db8:0:0:0:0:0:1', 6],
      ['::ffff:10.0.0.1', 6],
      ['2001:db8::1::2', 0],
      ['2001:db8:0:0:0:0:0:0:1', 0],
      ['g::1', 0],
      ['host.example', 0],
    ];
    for (const [address, version] of cases) expect(ipVersion(address), address).to.equal(version);
  });
});
