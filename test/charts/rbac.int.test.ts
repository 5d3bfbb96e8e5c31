// The chart's RBAC is exactly what the operator needs: install the chart, run the controller and the
// leader election as the chart's ServiceAccount (a TokenRequest token) through a recording proxy, take an
// app through stage 6, pruning and back to stage 1, then compare the requests made with the roles granted.
import { join } from 'node:path';
import { expect } from 'chai';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type KubernetesObject, type V1PolicyRule } from '@kubernetes/client-node';
import type { GraminstaApp } from '../../operator/api/types.gen.js';
import { createKubeClients } from '../../operator/kube/client.kube.js';
import { LeaderElector } from '../../operator/kube/leader-election.kube.js';
import { nopLogger } from '../../operator/kube/logger.kube.js';
import { MANAGED_BY } from '../../operator/render/names.render.js';
import { createTestNamespace, deleteTestNamespace, getCluster, repoRoot, run, waitFor, type TestCluster } from '../support/cluster.js';
import { applyApp, exampleApp, readApp, startOperator, waitForCondition, type RunningOperator } from '../support/operator.js';
import { helmPath } from './helm.js';
import { startRequestRecorder, type RequestRecorder } from './request-recorder.js';

const CHART = join(repoRoot, 'charts', 'graminsta-operator');
const LEASE = 'graminsta-operator-leader';

function permissionsOfRules(rules: V1PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs) out.add(`${g || 'core'}/${res} ${v}`);
  return [...out].sort();
}

describe('Helm chart RBAC (operator runs as the chart ServiceAccount)', function () {
  this.timeout(360_000);
  let cluster: TestCluster;
  let releaseNs: string;
  let appNs: string;
  let release: string;
  let recorder: RequestRecorder | undefined;
  let op: RunningOperator | undefined;
  let elector: { stop: AbortController; done: Promise<void> } | undefined;
  let saKc: KubeConfig;

  const helm = (args: string[]) => run(helmPath(), ['--kubeconfig', cluster.kubeconfigPath, ...args]);
  const failed = () => [...new Set((recorder?.requests ?? []).filter((r) => r.status >= 400).map((r) => `${r.status} ${r.method} ${r.path.split('?')[0]}`))];
  /** Waits for Ready=True, failing at once when the operator is denied anything. */
  const readyOrDenied = async (user: ReturnType<typeof createKubeClients>, name: string) => {
    let watching = true;
    const watchDenied = (async () => {
      while (watching) {
        if (denied().length) throw new Error(`denied while reconciling: ${denied().join(', ')}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    try {
      await Promise.race([waitForCondition(user, appNs, name, 'Ready', 'True', { timeoutMs: 180_000 }), watchDenied]);
    } finally {
      watching = false;
      await watchDenied.catch(() => undefined);
    }
  };
  const denied = () => (recorder?.requests ?? []).filter((r) => r.status === 403).map((r) => `${r.method} ${r.path}`);

  before(async () => {
    cluster = await getCluster();
    const version = await run(helmPath(), ['version', '--short']).catch((err: unknown) => {
      throw new Error(`helm is needed (bash hack/build-control-plane.sh builds it): ${String(err)}`);
    });
    expect(version.code, version.stderr).to.equal(0);
    releaseNs = await createTestNamespace('chart');
    appNs = await createTestNamespace('chart-app');
    release = `rbac-${process.pid}`;
    const install = await helm([
      'install', release, CHART, '--namespace', releaseNs,
      '--set', `watchNamespace=${appNs}`,
      ...(cluster.local ? ['--wait', '--timeout', '120s'] : []),
    ]);
    expect(install.code, `helm install failed: ${install.stderr}`).to.equal(0);

    // A token of the chart's ServiceAccount, as the kubelet would mount it.
    const sa = `${release}-graminsta-operator`;
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const token = await core.createNamespacedServiceAccountToken({ name: sa, namespace: releaseNs, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    recorder = await startRequestRecorder(cluster.kc);
    saKc = new KubeConfig();
    saKc.loadFromOptions({
      clusters: [{ name: 'proxy', server: recorder.server, skipTLSVerify: true }],
      users: [{ name: sa, token: token.status!.token }],
      contexts: [{ name: 'sa', cluster: 'proxy', user: sa, namespace: releaseNs }],
      currentContext: 'sa',
    });
  });

  after(async () => {
    elector?.stop.abort();
    await elector?.done;
    await op?.stop();
    await recorder?.close();
    if (release) await helm(['uninstall', release, '--namespace', releaseNs, '--wait', '--timeout', '60s']);
    if (appNs) await deleteTestNamespace(appNs);
    if (releaseNs) await deleteTestNamespace(releaseNs);
  });

  it('lets the chart ServiceAccount do what the roles say and nothing else (kubectl auth can-i)', async () => {
    const as = `system:serviceaccount:${releaseNs}:${release}-graminsta-operator`;
    const can = async (verb: string, resource: string, ns: string) => (await cluster.kubectl(['auth', 'can-i', verb, resource, '-n', ns, `--as=${as}`])).stdout.trim();
    expect(await can('patch', 'deployments.apps', appNs)).to.equal('yes');
    expect(await can('create', 'secrets', appNs)).to.equal('yes');
    expect(await can('update', 'deployments.apps', appNs)).to.equal('no');
    // The certificate Secrets are applied (a renewal is an update); the generated passwords are only created.
    expect(await can('patch', 'secrets', appNs)).to.equal('yes');
    expect(await can('update', 'secrets', appNs)).to.equal('no');
    expect(await can('update', 'configmaps', appNs)).to.equal('no');
    expect(await can('delete', 'persistentvolumeclaims', appNs)).to.equal('no', 'claims belong to the StatefulSets');
    expect(await can('get', 'persistentvolumeclaims', appNs)).to.equal('no', 'claims are read from their informer, never one by one');
    expect(await can('watch', 'persistentvolumeclaims', appNs)).to.equal('yes');
    expect(await can('list', 'serviceaccounts', appNs)).to.equal('no');
    expect(await can('list', 'secrets', releaseNs)).to.equal('no', 'the ClusterRole is bound only in the watched namespace');
    expect(await can('get', `leases.coordination.k8s.io/${LEASE}`, releaseNs)).to.equal('yes');
    expect(await can('get', 'leases.coordination.k8s.io/other', releaseNs)).to.equal('no');
    const list = await cluster.kubectl(['auth', 'can-i', '--list', '-n', appNs, `--as=${as}`]);
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout).to.match(/^secrets\s+\[\]\s+\[\]\s+\[get list watch create patch delete\]$/m);
    expect(list.stdout).to.match(/^graminstaapps\.graminsta\.io\/status\s+\[\]\s+\[\]\s+\[patch\]$/m);
  });

  it('runs the operator through stage 6, pruning, stage 1 and an external database with no 403, using every granted permission', async () => {
    const admin = cluster.kc.makeApiClient(CoreV1Api);
    await admin.createNamespacedSecret({ namespace: appNs, body: { metadata: { name: 'graminsta-s3' }, stringData: { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' } } });
    // Informers retry a failing list forever; a denied list would otherwise hang here.
    const starting = startOperator({ kubeconfig: saKc, watchNamespace: appNs, resyncMs: 5_000 });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`the operator's informers did not sync in 60 s; failed requests: ${failed().join(', ') || 'none'}`)), 60_000).unref(),
    );
    op = await Promise.race([starting, timeout]);

    // Leader election as the chart's ServiceAccount, in the release namespace, with short timings.
    const stop = new AbortController();
    const le = new LeaderElector({
      clients: op.clients,
      namespace: releaseNs,
      name: LEASE,
      identity: 'rbac-test',
      leaseDurationMs: 4_000,
      renewDeadlineMs: 3_000,
      retryPeriodMs: 500,
      logger: nopLogger,
      onStartedLeading: () => undefined,
      onStoppedLeading: () => undefined,
    });
    elector = { stop, done: le.run(stop.signal) };
    await waitFor('the leader lease', 20_000, () => le.isLeader());

    // The user (admin) writes and reads the app; only the operator runs as the ServiceAccount.
    const user = createKubeClients(cluster.kc);
    const name = 'graminsta';
    // With backups, so that the CronJob is applied here and pruned at stage 1.
    const stage6 = exampleApp('stage-6-data-layer.yaml', name);
    const spec6 = stage6.spec as { database?: Record<string, unknown> };
    await applyApp(user, appNs, { ...stage6, spec: { ...spec6, database: { ...spec6.database, backup: { schedule: '0 3 * * *', destination: { s3: { bucket: 'backups' } } } } } });
    await readyOrDenied(user, name);

    // Objects the app controls but the renderer does not want: the reconciler prunes them, whatever their kind.
    const app: GraminstaApp = await readApp(user, appNs, name);
    const owned = (apiVersion: string, kind: string, extra: Record<string, unknown> = {}): KubernetesObject & Record<string, unknown> => ({
      apiVersion,
      kind,
      metadata: {
        name: `${name}-stale-${kind.toLowerCase()}`,
        namespace: appNs,
        labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/instance': name },
        ownerReferences: [{ apiVersion: app.apiVersion, kind: app.kind, name, uid: app.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      ...extra,
    });
    const stale = [owned('v1', 'ConfigMap', { data: { x: 'y' } }), owned('v1', 'Secret', { stringData: { x: 'y' } })];
    const objects = (await getCluster()).kc.makeApiClient(CoreV1Api);
    for (const obj of stale) {
      const apply = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
      expect(apply.code, apply.stderr).to.equal(0);
    }
    await waitFor('the stale objects to be pruned', 60_000, async () => {
      const left = await Promise.all(
        stale.map((o) => {
          const ref = { name: o.metadata!.name!, namespace: appNs };
          const read = o.kind === 'Secret' ? objects.readNamespacedSecret(ref) : objects.readNamespacedConfigMap(ref);
          return read.then((x) => !x.metadata?.deletionTimestamp, () => false);
        }),
      );
      return left.every((exists) => !exists);
    });

    // Shrinking to stage 1 prunes the tiers stage 6 added, and the backup CronJob.
    await applyApp(user, appNs, exampleApp('stage-1-single-machine.yaml', name));
    await readyOrDenied(user, name);

    // An external database: the operator reads the user's Secret (get) before rendering.
    const secret = await cluster.kubectl(['create', 'secret', 'generic', 'rds', '-n', appNs, '--from-literal=host=db.example.com', '--from-literal=password=x']);
    expect(secret.code, secret.stderr).to.equal(0);
    await applyApp(user, appNs, { ...exampleApp('stage-2-split-database.yaml', name), spec: { users: 10, database: { external: { secretName: 'rds' } } } });
    await readyOrDenied(user, name);
    await waitFor('a Lease renewal', 10_000, () => recorder!.requests.some((r) => r.permissions.includes('coordination.k8s.io/leases update')));
    stop.abort();
    await elector.done;

    const requests = recorder!.requests;
    expect(denied(), 'requests the chart RBAC denied').to.deep.equal([]);
    const metric = await op.registry.getSingleMetric('rest_client_requests_total')?.get();
    expect((metric?.values ?? []).filter((v) => v.labels.code === '403').reduce((n, v) => n + v.value, 0)).to.equal(0);

    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    const clusterRole = await rbac.readClusterRole({ name: `${release}-graminsta-operator` });
    const role = await rbac.readNamespacedRole({ name: `${release}-graminsta-operator-leader-election`, namespace: releaseNs });
    const granted = permissionsOfRules([...(clusterRole.rules ?? []), ...(role.rules ?? [])]);
    const used = [...new Set(requests.filter((r) => r.status < 500).flatMap((r) => r.permissions))].sort();
    expect(used.filter((p) => !granted.includes(p)), 'permissions used but not granted').to.deep.equal([]);
    // Deleting a StatefulSet pod stuck on an older template needs a container that cannot start, which
    // kwok pods never have: test/e2e/real-node.e2e.test.ts exercises it on the real node.
    const exercisedElsewhere = ['core/pods delete'];
    // The claims are listed and watched here (their informer); growing one needs a raised size on a bound claim, which
    // this journey does not make: app.reconcile.unit.test.ts covers the patch and the StorageClass read.
    exercisedElsewhere.push('core/persistentvolumeclaims patch', 'storage.k8s.io/storageclasses get');
    // The Prometheus Operator's kinds are watched and written only where the cluster serves them (this one does not):
    // test/operator/monitoring.int.test.ts installs their CRDs and exercises these as the chart's rules grant them.
    exercisedElsewhere.push(...['podmonitors', 'prometheusrules'].flatMap((r) => ['get', 'list', 'watch', 'create', 'patch', 'delete'].map((v) => `monitoring.coreos.com/${r} ${v}`)));
    // HTTPRoutes likewise (spec.ingress.gatewayRef, the Gateway API CRDs): test/operator/gateway.int.test.ts.
    exercisedElsewhere.push(...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((v) => `gateway.networking.k8s.io/httproutes ${v}`));
    expect(granted.filter((p) => !used.includes(p) && !exercisedElsewhere.includes(p)), 'permissions granted but never used').to.deep.equal([]);
  });
});
