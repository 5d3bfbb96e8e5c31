// spec.monitoring on a real API server, first as clusters usually are (no Prometheus Operator CRDs: the operator
// starts, watches nothing of monitoring.coreos.com and still runs the metrics sidecars), then with the upstream
// PodMonitor and PrometheusRule CRDs installed (test/fixtures/prometheus-operator): the operator discovers them,
// the API server validates our objects against their real schemas, and they are pruned with the spec.
import { join } from 'node:path';
import { expect } from 'chai';
import { RbacAuthorizationV1Api, type KubernetesObject, type V1StatefulSet } from '@kubernetes/client-node';
import { discoverOptionalApis } from '../../operator/controller.js';
import { createKubeClients, type KubeClients } from '../../operator/kube/client.kube.js';
import { createTestNamespace, deleteTestNamespace, getCluster, repoRoot, waitFor, type TestCluster } from '../support/cluster.js';
import type { RunningOperator } from '../support/operator.js';
import { applyApp, chartServiceAccount, denied, exampleApp, listChildren, readApp, startOperator, waitForCondition } from '../support/operator.js';

const CRDS = ['podmonitors', 'prometheusrules'].map((p) => join(repoRoot, 'test', 'fixtures', 'prometheus-operator', `monitoring.coreos.com_${p}.yaml`));
const MONITORING = 'monitoring.coreos.com/v1';

const containersOf = async (clients: KubeClients, ns: string, name: string) => {
  const sets = (await listChildren(clients, 'apps/v1', 'StatefulSet', ns, name)) as V1StatefulSet[];
  return Object.fromEntries(sets.map((s) => [s.metadata!.name!, s.spec!.template.spec!.containers.map((c) => c.name)]));
};

describe('spec.monitoring on a real API server', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let clients: KubeClients;
  let op: RunningOperator | undefined;
  const namespaces: string[] = [];
  let installed = false;

  before(async () => {
    cluster = await getCluster();
    clients = createKubeClients(cluster.kc);
  });
  afterEach(async () => {
    await op?.stop();
    op = undefined;
  });
  after(async () => {
    for (const ns of namespaces) await deleteTestNamespace(ns);
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    for (const ns of namespaces) await rbac.deleteClusterRole({ name: `${ns}-operator` }).catch(() => undefined);
    if (installed) for (const f of CRDS) await cluster.kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', f]);
  });

  it('without the Prometheus Operator CRDs: starts, watches no monitoring kind, and renders the metrics sidecars only', async function () {
    if ((await discoverOptionalApis(clients)).has('monitoring')) this.skip(); // a cluster (kind, KUBECONFIG) that has them
    const ns = await createTestNamespace('mon-off');
    namespaces.push(ns);
    op = await startOperator({ kubeconfig: await chartServiceAccount(cluster, ns), watchNamespace: ns });
    expect([...op.controller.children.keys()]).to.not.include('PodMonitor');
    expect([...op.controller.children.keys()]).to.not.include('PrometheusRule');
    await applyApp(clients, ns, exampleApp('monitored.yaml', 'mon'));
    const app = await waitForCondition(clients, ns, 'mon', 'Ready', 'True');
    expect(app.status?.conditions?.find((c) => c.type === 'Stalled')?.status ?? 'False').to.equal('False');
    expect(await containersOf(clients, ns, 'mon')).to.deep.equal({
      'mon-db': ['postgres', 'metrics'],
      'mon-db-replica': ['postgres', 'metrics'],
      'mon-origin': ['origin'],
      'mon-redis-standalone': ['redis', 'metrics'],
    });
    expect(await denied(op), 'requests the chart rules denied').to.deep.equal([]);
  });

  it('with the CRDs: discovers them, applies a PodMonitor per tier and the PrometheusRule (valid for the upstream schemas), and prunes them with the spec', async () => {
    for (const f of CRDS) {
      const r = await cluster.kubectl(['apply', '--server-side', '-f', f]);
      expect(r.code, r.stderr).to.equal(0);
    }
    installed = true;
    const established = await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/podmonitors.monitoring.coreos.com', 'crd/prometheusrules.monitoring.coreos.com']);
    expect(established.code, established.stderr).to.equal(0);
    await waitFor('discovery to serve monitoring.coreos.com/v1', 30_000, async () => (await discoverOptionalApis(clients)).has('monitoring'));

    const ns = await createTestNamespace('mon-on');
    namespaces.push(ns);
    // As the chart's rules allow (operator/rbac.ts, the source of the chart's ClusterRole), watching only this namespace.
    op = await startOperator({ kubeconfig: await chartServiceAccount(cluster, ns), watchNamespace: ns });
    expect([...op.controller.children.keys()]).to.include.members(['PodMonitor', 'PrometheusRule']);
    await applyApp(clients, ns, exampleApp('monitored.yaml', 'mon'));
    await waitForCondition(clients, ns, 'mon', 'Ready', 'True');
    const app = await readApp(clients, ns, 'mon');
    const monitors = await listChildren(clients, MONITORING, 'PodMonitor', ns, 'mon');
    expect(monitors.map((m) => m.metadata!.name).sort()).to.deep.equal(['mon-api', 'mon-cache', 'mon-database', 'mon-origin', 'mon-web']);
    const rules = (await listChildren(clients, MONITORING, 'PrometheusRule', ns, 'mon')) as (KubernetesObject & { spec: { groups: { rules: { alert: string }[] }[] } })[];
    expect(rules.map((r) => r.metadata!.name)).to.deep.equal(['mon']);
    expect(rules[0]!.spec.groups[0]!.rules.map((r) => r.alert)).to.include.members(['GraminstaApiErrorRate', 'GraminstaPostgresReplicaLag', 'GraminstaCacheHitRatioLow']);
    for (const o of [...monitors, ...rules]) {
      expect(o.metadata!.labels).to.include({ release: 'kube-prometheus-stack' });
      expect(o.metadata!.ownerReferences?.[0]).to.include({ kind: 'GraminstaApp', uid: app.metadata.uid, controller: true });
    }

    // An unchanged app costs no write, the monitoring objects included.
    await op.atRest();
    const writes = await op.writes();
    await new Promise((r) => setTimeout(r, 4000));
    expect(await op.writes(), 'writes at rest').to.equal(writes);

    // Monitoring off: the PodMonitors and the rule are pruned, the sidecars go.
    await applyApp(clients, ns, { ...exampleApp('monitored.yaml', 'mon'), spec: { ...exampleApp('monitored.yaml').spec, monitoring: { enabled: false } } });
    await waitForCondition(clients, ns, 'mon', 'Ready', 'True');
    await waitFor('the monitoring objects to be pruned', 60_000, async () => {
      const left = [...(await listChildren(clients, MONITORING, 'PodMonitor', ns, 'mon')), ...(await listChildren(clients, MONITORING, 'PrometheusRule', ns, 'mon'))];
      return left.every((o) => o.metadata?.deletionTimestamp) || left.length === 0;
    });
    expect(Object.values(await containersOf(clients, ns, 'mon')).flat()).to.not.include('metrics');
    expect(await denied(op), 'requests the chart rules denied').to.deep.equal([]);
  });
});
