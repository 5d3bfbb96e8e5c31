// spec.ingress.gatewayRef on a real API server: first without the Gateway API CRDs (the operator starts, renders
// neither an Ingress nor routes, and IngressReady names what is missing), then with the v1.7.0 standard CRDs installed
// while it runs (picked up without a restart), a GatewayClass and Gateway of the ingress fixture (test/fixtures/
// ingress-controller), which writes the routes' status.parents[]: IngressReady follows Accepted and ResolvedRefs. Then
// the switch to an Ingress and back prunes the other kind. As the chart's RBAC allows (operator/rbac.ts).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { CustomObjectsApi, RbacAuthorizationV1Api, type KubernetesObject, type V1Ingress } from '@kubernetes/client-node';
import type { GraminstaApp } from '../../operator/api/types.gen.js';
import { discoverOptionalApis } from '../../operator/controller.js';
import { createKubeClients, type KubeClients } from '../../operator/kube/client.kube.js';
import { BODY_SIZE_ANNOTATIONS, UPLOAD_BODY_SIZE } from '../../operator/render/ingress.render.js';
import { createTestNamespace, deleteTestNamespace, getCluster, repoRoot, run, waitFor, type TestCluster } from '../support/cluster.js';
import { startIngressFixture, type IngressFixture } from '../support/ingress-fixture.js';
import { applyApp, chartServiceAccount, condition, denied, listChildren, readApp, startOperator, waitForCondition, type RunningOperator } from '../support/operator.js';
import { CONTROLLER_NAME } from '../fixtures/ingress-controller/model.fixture.js';

const GW = { group: 'gateway.networking.k8s.io', version: 'v1' };
const GW_API = 'gateway.networking.k8s.io/v1';
const GW_CRDS = ['gatewayclasses', 'gateways', 'httproutes'].map((p) => `crd/${p}.gateway.networking.k8s.io`);

function gatewayApp(spec: GraminstaApp['spec']): GraminstaApp {
  return { apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', metadata: { name: 'gw' }, spec };
}

describe('spec.ingress.gatewayRef on a real API server', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let clients: KubeClients;
  let custom: CustomObjectsApi;
  let op: RunningOperator | undefined;
  let fixture: IngressFixture | undefined;
  let ns: string;
  let crdFile: string | undefined;
  let absentAtStart = false;
  const gatewayClassName = `fixture-${Math.random().toString(36).slice(2, 7)}`;
  const spec = { users: 1000, ingress: { gatewayRef: { name: 'public', sectionName: 'http' }, apiHost: 'api.gw.example.test', webHost: 'gw.example.test' } };

  before(async () => {
    cluster = await getCluster();
    clients = createKubeClients(cluster.kc);
    custom = cluster.kc.makeApiClient(CustomObjectsApi);
    absentAtStart = !(await discoverOptionalApis(clients)).has('gateway');
    ns = await createTestNamespace('gateway');
  });
  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    failed = true;
    if (fixture) console.error(`--- ingress fixture log (all of it stays in ${fixture.stateDir}) ---\n${fixture.log()}`);
  });
  after(async () => {
    await op?.stop();
    await fixture?.stop();
    if (fixture && !failed) rmSync(fixture.stateDir, { recursive: true, force: true });
    if (ns) await deleteTestNamespace(ns);
    await cluster.kc.makeApiClient(RbacAuthorizationV1Api).deleteClusterRole({ name: `${ns}-operator` }).catch(() => undefined);
    await custom?.deleteClusterCustomObject({ ...GW, plural: 'gatewayclasses', name: gatewayClassName }).catch(() => undefined);
    // Only what this test installed, and waiting, so that the next run finds them absent rather than terminating.
    if (absentAtStart && crdFile) await cluster.kubectl(['delete', '--ignore-not-found', '--timeout=60s', '-f', crdFile]);
  });

  it('without the Gateway API CRDs: starts, watches no HTTPRoute, renders no Ingress instead, and IngressReady names the missing API', async function () {
    if (!absentAtStart) this.skip(); // a cluster (kind, KUBECONFIG) that has them
    op = await startOperator({ kubeconfig: await chartServiceAccount(cluster, ns), watchNamespace: ns, discoveryIntervalMs: 500 });
    expect([...op.controller.children.keys()]).to.not.include('HTTPRoute');
    await applyApp(clients, ns, gatewayApp(spec));
    const app = await waitForCondition(clients, ns, 'gw', 'IngressReady', 'False', { reason: 'GatewayAPINotServed' });
    expect(condition(app, 'IngressReady')!.message).to.match(/spec\.ingress\.gatewayRef: .*HTTPRoute \(gateway\.networking\.k8s\.io\/v1\)/);
    expect(condition(app, 'Ready')).to.include({ status: 'False' });
    // The other tiers run as usual.
    await waitForCondition(clients, ns, 'gw', 'ApiReady', 'True');
    expect(await listChildren(clients, 'networking.k8s.io/v1', 'Ingress', ns, 'gw')).to.deep.equal([]);
    expect(await denied(op), 'requests the chart rules denied').to.deep.equal([]);
  });

  it('with the CRDs installed while it runs: picks them up, applies the HTTPRoutes, and IngressReady follows the Gateway controller', async () => {
    if (absentAtStart) {
      const crds = await run('bash', [join(repoRoot, 'hack/gateway-api-crds.sh')]);
      expect(crds.code, crds.stderr).to.equal(0);
      crdFile = crds.stdout.trim();
      const applied = await cluster.kubectl(['apply', '--server-side', '-f', crdFile]);
      expect(applied.code, applied.stderr).to.equal(0);
      const established = await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...GW_CRDS]);
      expect(established.code, established.stderr).to.equal(0);
    }
    op ??= await startOperator({ kubeconfig: await chartServiceAccount(cluster, ns), watchNamespace: ns, discoveryIntervalMs: 500 });
    await applyApp(clients, ns, gatewayApp(spec));
    await waitFor('the operator to watch HTTPRoutes', 60_000, () => op!.controller.children.has('HTTPRoute') && op!.controller.servedApis().includes('gateway'));
    // No Gateway controller yet: the routes exist, nobody has accepted them.
    await waitFor('the HTTPRoutes', 60_000, async () => (await listChildren(clients, GW_API, 'HTTPRoute', ns, 'gw')).length === 2);
    await waitForCondition(clients, ns, 'gw', 'IngressReady', 'False', { reason: 'WaitingForGateway' });
    const routes = (await listChildren(clients, GW_API, 'HTTPRoute', ns, 'gw')) as (KubernetesObject & { spec: { parentRefs: unknown[]; hostnames: string[] } })[];
    const app = await readApp(clients, ns, 'gw');
    expect(routes.map((r) => [r.metadata!.name, r.spec.hostnames]).sort()).to.deep.equal([['gw', ['gw.example.test']], ['gw-api', ['api.gw.example.test']]]);
    for (const r of routes) {
      expect(r.spec.parentRefs).to.deep.equal([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: ns, sectionName: 'http' }]);
      expect(r.metadata!.ownerReferences?.[0]).to.include({ kind: 'GraminstaApp', uid: app.metadata.uid, controller: true });
    }

    // The fixture as the Gateway's controller: it writes Accepted and ResolvedRefs into status.parents[].
    fixture = await startIngressFixture({ kubeconfigPath: cluster.kubeconfigPath });
    await custom.createClusterCustomObject({ ...GW, plural: 'gatewayclasses', body: { apiVersion: GW_API, kind: 'GatewayClass', metadata: { name: gatewayClassName }, spec: { controllerName: CONTROLLER_NAME } } });
    await custom.createNamespacedCustomObject({
      ...GW,
      namespace: ns,
      plural: 'gateways',
      body: { apiVersion: GW_API, kind: 'Gateway', metadata: { name: 'public' }, spec: { gatewayClassName, listeners: [{ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } }] } },
    });
    const accepted = await waitForCondition(clients, ns, 'gw', 'IngressReady', 'True', { reason: 'Accepted', timeoutMs: 90_000 });
    expect(condition(accepted, 'IngressReady')!.message).to.match(new RegExp(`HTTPRoute\\(s\\) gw-api, gw accepted by Gateway ${ns}/public \\(listener http\\)`));
    await waitForCondition(clients, ns, 'gw', 'Ready', 'True');

    // A listener the Gateway does not have: the fixture says NoMatchingParent, and the condition names the route.
    await applyApp(clients, ns, gatewayApp({ ...spec, ingress: { ...spec.ingress, gatewayRef: { name: 'public', sectionName: 'https' } } }));
    const refused = await waitForCondition(clients, ns, 'gw', 'IngressReady', 'False', { reason: 'NoMatchingParent', timeoutMs: 90_000 });
    expect(condition(refused, 'IngressReady')!.message).to.match(new RegExp(`^HTTPRoute gw(-api)?: Accepted=False \\(NoMatchingParent\\) from Gateway ${ns}/public \\(listener https\\)`));
    expect(condition(refused, 'Ready')?.status).to.equal('False');
    expect(await denied(op), 'requests the chart rules denied').to.deep.equal([]);
  });

  it('switching to an Ingress prunes the HTTPRoutes (the Ingress has the body size annotations), and back prunes the Ingress, each once the new door takes traffic', async () => {
    expect(op, 'the operator of the test before').to.not.equal(undefined);
    const { gatewayRef: _gatewayRef, ...ingressOnly } = spec.ingress;
    const ingresses = async () => (await listChildren(clients, 'networking.k8s.io/v1', 'Ingress', ns, 'gw')) as V1Ingress[];
    const liveRoutes = async () => (await listChildren(clients, GW_API, 'HTTPRoute', ns, 'gw')).filter((r) => !r.metadata?.deletionTimestamp);
    await applyApp(clients, ns, gatewayApp({ ...spec, ingress: { ...ingressOnly, className: gatewayClassName } }));
    // Make before break: the routes stay while the new Ingress is young and unpublished (15 s, SWITCH_SETTLE_MS).
    let young: V1Ingress | undefined;
    await waitFor('the Ingress', 60_000, async () => (young = (await ingresses())[0]) !== undefined);
    const routesBeside = (await liveRoutes()).length;
    const age = Date.now() - new Date(young!.metadata!.creationTimestamp!).getTime();
    if (age < 10_000 && !young!.status?.loadBalancer?.ingress?.length) expect(routesBeside, `HTTPRoutes beside an Ingress ${age} ms old`).to.equal(2);
    await waitFor('the HTTPRoutes to be pruned', 60_000, async () => (await liveRoutes()).length === 0);
    await waitForCondition(clients, ns, 'gw', 'IngressReady', 'True', { reason: 'IngressCreated' });
    const [ingress, ...more] = (await listChildren(clients, 'networking.k8s.io/v1', 'Ingress', ns, 'gw')) as V1Ingress[];
    expect(more).to.deep.equal([]);
    expect(ingress!.metadata!.annotations).to.include({ [BODY_SIZE_ANNOTATIONS.ingressNginx]: UPLOAD_BODY_SIZE, [BODY_SIZE_ANNOTATIONS.nginxInc]: UPLOAD_BODY_SIZE });

    // Back to the Gateway, first on a listener it does not have: the routes are refused, so the Ingress stays.
    await applyApp(clients, ns, gatewayApp({ ...spec, ingress: { ...spec.ingress, gatewayRef: { name: 'public', sectionName: 'https' } } }));
    await waitForCondition(clients, ns, 'gw', 'IngressReady', 'False', { reason: 'NoMatchingParent', timeoutMs: 90_000 });
    await new Promise((r) => setTimeout(r, 3000)); // passes of the operator (resync) that could prune it
    expect((await ingresses()).filter((i) => !i.metadata?.deletionTimestamp).length, 'the Ingress while no route is accepted').to.equal(1);
    expect((await readApp(clients, ns, 'gw')).status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '').to.match(/keeping the Ingress until the HTTPRoutes are accepted/);
    await applyApp(clients, ns, gatewayApp(spec));
    await waitForCondition(clients, ns, 'gw', 'IngressReady', 'True', { reason: 'Accepted', timeoutMs: 90_000 });
    await waitFor('the Ingress to be pruned', 60_000, async () => (await ingresses()).every((i) => i.metadata?.deletionTimestamp));
    expect((await listChildren(clients, GW_API, 'HTTPRoute', ns, 'gw')).length).to.equal(2);

    // At rest nothing is written, the routes' status updates by the fixture included.
    await op!.atRest();
    const writes = await op!.writes();
    await new Promise((r) => setTimeout(r, 4000));
    expect(await op!.writes(), 'writes at rest').to.equal(writes);
    expect(await denied(op!), 'requests the chart rules denied').to.deep.equal([]);
  });
});
