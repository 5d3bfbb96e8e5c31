import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse } from 'yaml';
import { CHART_CRD_PATH, RBAC_TEMPLATE_PATH, chartCrd, chartRbac, rbacTemplate } from '../../hack/gen-chart-rbac.js';
import { DEFAULT_SERVICE_IMAGE, OPERATOR_VERSION } from '../../operator/config.js';
import { childWritesOf, operatorRbac, permissionsOf } from '../../operator/rbac.js';
import { allChildKinds } from '../../operator/reconcile/children.reconcile.js';
import { MIN_KUBERNETES_VERSION } from '../../operator/kube/version.kube.js';
import { GENERATED_SECRET_ANNOTATION } from '../../operator/render/names.render.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(root + path, 'utf8');

describe('Helm chart', () => {
  it('has the committed RBAC template and CRD copy (run `npx tsx hack/gen-chart-rbac.ts` after changing rbac.ts, childKinds, render or the CRD)', () => {
    expect(read(RBAC_TEMPLATE_PATH)).to.equal(rbacTemplate(), `${RBAC_TEMPLATE_PATH} is stale`);
    expect(read(CHART_CRD_PATH)).to.equal(chartCrd(), `${CHART_CRD_PATH} is stale`);
  });

  it('carries package.json version as chart version and appVersion, which is the operator version in its default service image', () => {
    const pkg = JSON.parse(read('package.json')) as { version: string };
    const chart = parse(read('charts/graminsta-operator/Chart.yaml')) as { version: string; appVersion: string };
    expect(chart.version).to.equal(pkg.version);
    expect(chart.appVersion).to.equal(pkg.version);
    expect(OPERATOR_VERSION).to.equal(pkg.version);
    expect(DEFAULT_SERVICE_IMAGE).to.equal(`ghcr.io/graminsta/graminsta-service:${pkg.version}`);
    const values = parse(read('charts/graminsta-operator/values.yaml')) as { image: { tag: string }; serviceImage: { repository: string; tag: string } };
    expect(values.image.tag, 'image.tag must default to appVersion').to.equal('');
    expect(values.serviceImage.tag, 'serviceImage.tag must default to appVersion').to.equal('');
    expect(`${values.serviceImage.repository}:${chart.appVersion}`).to.equal(DEFAULT_SERVICE_IMAGE);
  });

  it('admits the Kubernetes versions the operator starts on, no older (helm install refuses the rest)', () => {
    const chart = parse(read('charts/graminsta-operator/Chart.yaml')) as { kubeVersion: string };
    const { major, minor } = MIN_KUBERNETES_VERSION;
    expect(chart.kubeVersion).to.equal(`>=${major}.${minor}.0-0`);
  });
});

describe('operatorRbac', () => {
  it('lists and watches every owned kind and deletes any of them when pruning', () => {
    const perms = permissionsOf(chartRbac().cluster);
    for (const k of allChildKinds) {
      for (const verb of ['list', 'watch', 'delete']) expect(perms).to.include(`${k.group || 'core'}/${k.plural} ${verb}`);
    }
  });

  it('grants patch (and create) exactly for the kinds the renderer applies, plus patch on PVCs (expansion), create otherwise only for Events and generated Secrets', () => {
    const perms = permissionsOf(chartRbac().cluster);
    expect(perms.filter((p) => p.endsWith(' patch'))).to.deep.equal([
      'apps/deployments patch',
      'apps/statefulsets patch',
      'autoscaling/horizontalpodautoscalers patch',
      // The backup CronJob of spec.database.backup (examples/backups.yaml).
      'batch/cronjobs patch',
      'batch/jobs patch',
      'core/configmaps patch',
      'core/persistentvolumeclaims patch',
      // The certificate Secrets, applied at each renewal.
      'core/secrets patch',
      'core/services patch',
      // An app's HTTPRoutes with spec.ingress.gatewayRef (examples/gateway.yaml); on clusters without the Gateway API never used.
      'gateway.networking.k8s.io/httproutes patch',
      'graminsta.io/graminstaapps/status patch',
      // A monitored app's PodMonitors and PrometheusRule (examples/monitored.yaml); on clusters without the CRDs never used.
      'monitoring.coreos.com/podmonitors patch',
      'monitoring.coreos.com/prometheusrules patch',
      'networking.k8s.io/ingresses patch',
      'networking.k8s.io/networkpolicies patch',
      'policy/poddisruptionbudgets patch',
    ]);
    // A server-side apply that creates its object needs create as well as patch.
    // PVCs are patched (expanded), never created: the StatefulSet controller creates them.
    const patched = perms.filter((p) => p.endsWith(' patch') && !p.includes('/status') && !p.includes('persistentvolumeclaims')).map((p) => p.replace(/ patch$/, ' create'));
    // Events and the generated Secrets are created without an apply (core/secrets create is among the patched kinds' now).
    expect(perms.filter((p) => p.endsWith(' create'))).to.deep.equal([...new Set([...patched, 'core/events create', 'core/secrets create'])].sort());
    expect(perms.filter((p) => / (update|deletecollection|\*)$/.test(p))).to.deep.equal([]);
  });

  it('watches claims and patches them (expansion), and never reads, creates or deletes one by one', () => {
    const perms = permissionsOf(chartRbac().cluster).filter((p) => p.startsWith('core/persistentvolumeclaims '));
    expect(perms).to.deep.equal(['core/persistentvolumeclaims list', 'core/persistentvolumeclaims patch', 'core/persistentvolumeclaims watch']);
  });

  it('confines the Lease rules to get/update on the configured name, plus create', () => {
    const { leaderElection } = operatorRbac({ applied: [], created: [] }, { leaseName: 'my-lease' });
    expect(leaderElection.map((r) => [r.verbs, r.resourceNames])).to.deep.equal([
      [['create'], undefined],
      [['get', 'update'], ['my-lease']],
    ]);
  });

  it('rejects a written kind that is not an owned kind, naming it', () => {
    expect(() => operatorRbac({ applied: ['ReplicaSet'], created: [] }, { leaseName: 'x' })).to.throw(/ReplicaSet is written but is not one of the owned kinds/);
  });

  it('sorts generated Secrets into created and everything else into applied', () => {
    const writes = childWritesOf([
      { kind: 'Secret', metadata: { annotations: { [GENERATED_SECRET_ANNOTATION]: 'true' } } },
      { kind: 'Service' },
      { kind: 'ConfigMap' },
      { kind: 'Service' },
    ]);
    expect(writes.applied).to.deep.equal(['ConfigMap', 'Service']);
    expect(writes.created).to.deep.equal(['Secret']);
    expect(() => childWritesOf([{ metadata: {} }])).to.throw(/no kind/);
  });
});
