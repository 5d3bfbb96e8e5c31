// The chart with the real helm: lint, template with several value sets, a server-side dry run of
// everything it renders against the API server, and the committed plain install manifest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { createTestNamespace, deleteTestNamespace, getCluster, repoRoot, run, type TestCluster } from '../support/cluster.js';
import { helmPath } from './helm.js';

const CHART = join(repoRoot, 'charts', 'graminsta-operator');

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  subjects?: { namespace: string }[];
}

function docs(yamlText: string): Doc[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJSON() as Doc | null)
    .filter((d): d is Doc => !!d);
}

describe('Helm chart with helm and the API server', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let ns: string;
  const helm = (args: string[]) => run(helmPath(), args);
  const template = async (...set: string[]) => {
    const out = await helm(['template', 'graminsta-operator', CHART, '--namespace', ns, '--include-crds', '--kube-version', '1.36.0', ...set.flatMap((s) => ['--set', s])]);
    expect(out.code, out.stderr).to.equal(0);
    return out.stdout;
  };

  before(async () => {
    cluster = await getCluster();
    ns = await createTestNamespace('chart-tpl');
  });
  after(async () => {
    if (ns) await deleteTestNamespace(ns);
  });

  it('passes helm lint --strict', async () => {
    const out = await helm(['lint', '--strict', CHART]);
    expect(out.code, out.stdout + out.stderr).to.equal(0);
    expect(out.stdout).to.match(/0 chart\(s\) failed/);
  });

  it('renders the default install: CRD, 2 replicas with leader election, cluster-wide binding, metrics Service, PDB, dashboard, no ServiceMonitor', async () => {
    const objects = docs(await template());
    const kinds = objects.map((o) => o.kind).sort();
    expect(kinds).to.deep.equal([
      'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'CustomResourceDefinition', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount',
    ]);
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    expect(deployment.spec!.replicas).to.equal(2);
    const container = (deployment.spec as { template: { spec: { containers: { image: string; env: { name: string; value?: string }[] }[] } } }).template.spec.containers[0]!;
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    expect(container.image).to.equal(`ghcr.io/graminsta/graminsta-operator:${version}`);
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    expect(env).to.include({ GRAMINSTA_LEADER_ELECT: 'true', WATCH_NAMESPACE: '', GRAMINSTA_SERVICE_IMAGE: `ghcr.io/graminsta/graminsta-service:${version}` });
    expect(env).to.not.have.any.keys('GRAMINSTA_POSTGRES_IMAGE', 'GRAMINSTA_REDIS_IMAGE');
  });

  it('passes the image overrides to the operator, the service image pinned by digest', async () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const objects = docs(
      await template(`serviceImage.digest=${digest}`, 'postgresImage=registry.local/postgres:{version}-bookworm', 'redisImage=registry.local/redis:7.4'),
    );
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const container = (deployment.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }).template.spec.containers[0]!;
    expect(Object.fromEntries(container.env.map((e) => [e.name, e.value]))).to.include({
      GRAMINSTA_SERVICE_IMAGE: `ghcr.io/graminsta/graminsta-service@${digest}`,
      GRAMINSTA_POSTGRES_IMAGE: 'registry.local/postgres:{version}-bookworm',
      GRAMINSTA_REDIS_IMAGE: 'registry.local/redis:7.4',
    });
  });

  it('pins every image by digest: the operator image, the service image, and Postgres and Redis as repo[:tag]@digest', async () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const objects = docs(
      await template(`image.digest=${digest}`, `serviceImage.digest=${digest}`, `postgresImage=registry.local/postgres:16@${digest}`, `redisImage=registry.local/redis@${digest}`),
    );
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const container = (deployment.spec as { template: { spec: { containers: { image: string; env: { name: string; value?: string }[] }[] } } }).template.spec.containers[0]!;
    expect(container.image).to.equal(`ghcr.io/graminsta/graminsta-operator@${digest}`);
    expect(Object.fromEntries(container.env.map((e) => [e.name, e.value]))).to.include({
      GRAMINSTA_SERVICE_IMAGE: `ghcr.io/graminsta/graminsta-service@${digest}`,
      GRAMINSTA_POSTGRES_IMAGE: `registry.local/postgres:16@${digest}`,
      GRAMINSTA_REDIS_IMAGE: `registry.local/redis@${digest}`,
    });
  });

  for (const [value, message] of [
    ['image.digest=sha256:abc', /image\.digest: "sha256:abc" is not a digest: expected sha256: and 64 lowercase hex digits/],
    [`serviceImage.digest=${'d'.repeat(64)}`, /serviceImage\.digest: "d{64}" is not a digest/],
    [`postgresImage=registry.local/postgres@sha256:${'E'.repeat(64)}`, /postgresImage: "registry\.local\/postgres@sha256:E{64}" has a malformed digest/],
    ['redisImage=registry.local/redis:7@md5:abc', /redisImage: "registry\.local\/redis:7@md5:abc" has a malformed digest/],
  ] as const) {
    it(`refuses to install with a bad digest, naming the value: ${value.split('=')[0]}`, async () => {
      const failing = await helm(['template', 'x', CHART, '--kube-version', '1.36.0', '--set', value]);
      expect(failing.code).to.not.equal(0);
      expect(failing.stderr).to.match(message);
    });
  }

  it('refuses a cluster older than Kubernetes 1.29 (kubeVersion), where the single-machine sidecar cannot run', async () => {
    const old = await helm(['template', 'x', CHART, '--kube-version', '1.28.9']);
    expect(old.code).to.not.equal(0);
    expect(old.stderr).to.match(/kubeVersion: >=1\.29\.0-0 which is incompatible with Kubernetes v1\.28\.9/);
    expect((await helm(['template', 'x', CHART, '--kube-version', '1.29.0'])).code).to.equal(0);
  });

  it('binds the ClusterRole only in the watched namespace when watchNamespace is set, and renders a ServiceMonitor on request', async () => {
    const objects = docs(await template('watchNamespace=photos', 'metrics.serviceMonitor.enabled=true'));
    expect(objects.filter((o) => o.kind === 'ClusterRoleBinding')).to.have.length(0);
    expect(objects.filter((o) => o.kind === 'RoleBinding').map((o) => o.metadata.namespace).sort()).to.deep.equal([ns, 'photos']);
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor') as (Doc & { spec: { endpoints: { port: string; path: string }[]; selector: { matchLabels: Record<string, string> } } })[];
    expect(monitors).to.have.length(1);
    // It scrapes the operator's metrics Service by its port name, and that port reaches the container's /metrics.
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name.endsWith('-metrics')) as Doc & { metadata: { labels: Record<string, string> }; spec: { ports: { name: string; targetPort: string }[] } };
    expect(monitors[0]!.spec.endpoints.map((e) => [e.port, e.path])).to.deep.equal([['http-metrics', '/metrics']]);
    expect(svc.metadata.labels).to.include(monitors[0]!.spec.selector.matchLabels);
    expect(svc.spec.ports.map((p) => [p.name, p.targetPort])).to.deep.equal([['http-metrics', 'http-metrics']]);
    const operator = objects.find((o) => o.kind === 'Deployment') as Doc & { spec: { template: { spec: { containers: { ports: { name: string }[] }[] } } } };
    expect(operator.spec.template.spec.containers[0]!.ports.map((p) => p.name)).to.include('http-metrics');
    const failing = await helm(['template', 'x', CHART, '--kube-version', '1.36.0', '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.service.enabled=false']);
    expect(failing.code).to.not.equal(0);
    expect(failing.stderr).to.match(/metrics.serviceMonitor.enabled needs metrics.service.enabled/);
  });

  it('ships the Grafana dashboard as a ConfigMap labelled grafana_dashboard "1" (dashboards/graminsta.json, unchanged), or not at all', async () => {
    const dashboards = (objs: Doc[]) => objs.filter((o) => o.kind === 'ConfigMap') as (Doc & { metadata: { labels: Record<string, string> }; data: Record<string, string> })[];
    const [cm, ...more] = dashboards(docs(await template()));
    expect(more).to.deep.equal([]);
    expect(cm!.metadata.labels).to.include({ grafana_dashboard: '1' });
    const file = readFileSync(join(CHART, 'dashboards', 'graminsta.json'), 'utf8');
    expect(JSON.parse(cm!.data['graminsta.json']!)).to.deep.equal(JSON.parse(file));
    expect(dashboards(docs(await template('dashboards.enabled=false')))).to.deep.equal([]);
    expect(dashboards(docs(await template('dashboards.namespace=monitoring')))[0]!.metadata.namespace).to.equal('monitoring');
  });

  for (const variant of [[], ['watchNamespace=photos', 'replicaCount=1', 'leaderElection.enabled=false']]) {
    it(`is accepted by the API server in a server-side dry run (${variant.join(', ').replace('photos', 'its namespace') || 'defaults'}), without Pod Security warnings`, async () => {
      const rendered = await template(...variant.map((v) => v.replace('=photos', `=${ns}`)));
      const out = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=chart-test', '-f', '-'], { input: rendered });
      expect(out.code, out.stderr).to.equal(0);
      expect(out.stderr).to.not.match(/PodSecurity|Warning/);
      expect(out.stdout.trim().split('\n')).to.have.length(docs(rendered).length);
    });
  }

  it('has an up-to-date deploy/install.yaml that the API server accepts (run `bash hack/gen-install-manifest.sh` after changing the chart)', async () => {
    const fresh = await run('bash', [join(repoRoot, 'hack', 'gen-install-manifest.sh'), '--stdout'], { env: { ...process.env, HELM: helmPath() } });
    expect(fresh.code, fresh.stderr).to.equal(0);
    const committed = readFileSync(join(repoRoot, 'deploy', 'install.yaml'), 'utf8');
    expect(committed).to.equal(fresh.stdout, 'deploy/install.yaml is stale');
    const objects = docs(committed);
    expect(objects[0]).to.deep.include({ kind: 'Namespace' });
    expect(objects.every((o) => o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition' || o.kind.startsWith('Cluster') || o.metadata.namespace === 'graminsta-system')).to.equal(true);
    // A dry run cannot create the namespace first: validate everything in the test namespace instead.
    const out = await cluster.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=chart-test', '-f', '-'], {
      input: committed.replaceAll('graminsta-system', ns),
    });
    expect(out.code, out.stderr).to.equal(0);
    expect(out.stderr).to.not.match(/PodSecurity|Warning/);
  });
});
