// The reconcile loop against the real API server: every stage to Ready, moving between stages, drift,
// pausing, deletion, unrealisable specs, the HPA rule, the scale subresource, and zero writes at rest.
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor } from '../../support/cluster.js';
import {
  applyApp,
  condition,
  exampleApp,
  listChildren,
  readApp,
  startOperator,
  waitForCondition,
  type RunningOperator,
} from '../../support/operator.js';
import { APP_RESOURCE, FIELD_MANAGER } from '../../../operator/controller.js';
import { isNotFound } from '../../../operator/kube/errors.kube.js';

use(chaiAsPromised);

const stages = [
  { file: 'stage-1-single-machine.yaml', stage: 'single-machine', kinds: ['StatefulSet', 'Service'] },
  { file: 'stage-2-split-database.yaml', stage: 'split-database', kinds: ['Deployment', 'StatefulSet', 'Service'] },
  { file: 'stage-3-split-clients.yaml', stage: 'split-clients', kinds: ['Deployment', 'StatefulSet'] },
  { file: 'stage-4-load-balanced.yaml', stage: 'load-balanced', kinds: ['Ingress', 'HorizontalPodAutoscaler'] },
  { file: 'stage-5-cdn.yaml', stage: 'cdn', kinds: ['Ingress', 'HorizontalPodAutoscaler'] },
  { file: 'stage-6-data-layer.yaml', stage: 'data-layer', kinds: ['Ingress', 'HorizontalPodAutoscaler', 'StatefulSet'] },
];

const kindVersion: Record<string, string> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  Service: 'v1',
  ConfigMap: 'v1',
  Ingress: 'networking.k8s.io/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  PodDisruptionBudget: 'policy/v1',
  Job: 'batch/v1',
};

describe('GraminstaApp reconcile loop (real API server)', function () {
  this.timeout(240_000);
  let op: RunningOperator;
  let ns: string;

  before(async () => {
    await getCluster();
    ns = await createTestNamespace('reconcile');
    // Stage 6 reads S3 credentials from this Secret.
    const cluster = await getCluster();
    await cluster.kubectl(['create', 'secret', 'generic', 'graminsta-s3', '-n', ns, '--from-literal=AWS_ACCESS_KEY_ID=a', '--from-literal=AWS_SECRET_ACCESS_KEY=b']);
    op = await startOperator({ resyncMs: 3_000 });
  });

  after(async () => {
    await op?.stop();
    if (ns) await deleteTestNamespace(ns);
  });

  for (const s of stages) {
    it(`brings ${s.file} to Ready at stage ${s.stage}`, async () => {
      const name = `s-${s.stage}`;
      await applyApp(op.clients, ns, exampleApp(s.file, name));
      const app = await waitForCondition(op.clients, ns, name, 'Ready', 'True');
      expect(app.status?.stage).to.equal(s.stage);
      expect(condition(app, 'Stalled')?.status).to.equal('False');
      for (const kind of s.kinds) {
        const children = await listChildren(op.clients, kindVersion[kind]!, kind, ns, name);
        expect(children, `${kind} children of ${name}`).to.not.be.empty;
        for (const child of children) {
          const ref = child.metadata?.ownerReferences?.find((r) => r.controller);
          expect(ref, `controller ownerReference on ${kind} ${child.metadata?.name}`).to.include({ kind: 'GraminstaApp', name });
        }
      }
      expect(app.status?.api?.readyReplicas).to.be.greaterThan(0);
      // Ready means every tier runs as many ready pods as it wants (an autoscaled tier: at least the HPA minimum).
      const [ready, wanted] = (app.status?.api?.summary ?? '').split('/');
      expect(ready, `api ${app.status?.api?.summary}`).to.equal(wanted);
      expect(app.status?.selector).to.contain(`app.kubernetes.io/instance=${name}`);
    });
  }

  it('grows through the stages and shrinks back, creating and pruning objects', async () => {
    const name = 'grower';
    const base = exampleApp('stage-1-single-machine.yaml', name);
    await applyApp(op.clients, ns, base);
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    // One pod runs the API and Postgres; nothing else runs yet.
    expect((await listChildren(op.clients, 'apps/v1', 'StatefulSet', ns, name)).map((s) => s.metadata?.name)).to.deep.equal([`${name}-db`]);
    expect(await listChildren(op.clients, 'apps/v1', 'Deployment', ns, name)).to.be.empty;

    await applyApp(op.clients, ns, { ...base, spec: { users: 100_000, cdn: { origin: { volume: { size: '1Gi' } } } } });
    let app = await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    expect(app.status?.stage).to.equal('data-layer');
    const sets = (await listChildren(op.clients, 'apps/v1', 'StatefulSet', ns, name)).map((s) => s.metadata?.name);
    expect(sets).to.include.members([`${name}-db`, `${name}-redis`]);
    expect(await listChildren(op.clients, 'autoscaling/v2', 'HorizontalPodAutoscaler', ns, name)).to.not.be.empty;

    await applyApp(op.clients, ns, { ...base, spec: { users: 10 } });
    app = await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    expect(app.status?.stage).to.equal('split-database');
    await waitFor('the cache, read replicas, autoscaler and Ingress to be pruned', 30_000, async () => {
      const sets = (await listChildren(op.clients, 'apps/v1', 'StatefulSet', ns, name)).map((s) => s.metadata?.name);
      const hpas = await listChildren(op.clients, 'autoscaling/v2', 'HorizontalPodAutoscaler', ns, name);
      const ingresses = await listChildren(op.clients, 'networking.k8s.io/v1', 'Ingress', ns, name);
      return sets.includes(`${name}-db`) && !sets.includes(`${name}-redis`) && !sets.includes(`${name}-db-replica`) && hpas.length === 0 && ingresses.length === 0;
    });
  });

  it('creates the NetworkPolicies of the stage with the ingressFrom peers, and prunes them all when they are switched off', async () => {
    const name = 'netpol';
    const base = exampleApp('stage-4-load-balanced.yaml', name);
    const ingressFrom = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } } }];
    await applyApp(op.clients, ns, { ...base, spec: { ...base.spec, networkPolicy: { ingressFrom } } });
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    const policies = await listChildren(op.clients, 'networking.k8s.io/v1', 'NetworkPolicy', ns, name);
    expect(policies.map((p) => p.metadata?.name).sort()).to.deep.equal([`${name}-api`, `${name}-db`, `${name}-origin`, `${name}-web`]);
    const api = policies.find((p) => p.metadata?.name === `${name}-api`) as { spec: { ingress: { _from?: unknown[]; from?: unknown[] }[] } };
    expect(api.spec.ingress[0]!._from ?? api.spec.ingress[0]!.from).to.deep.equal(ingressFrom);

    await applyApp(op.clients, ns, { ...base, spec: { ...base.spec, networkPolicy: { enabled: false } } });
    await waitFor('the NetworkPolicies to be pruned', 30_000, async () => (await listChildren(op.clients, 'networking.k8s.io/v1', 'NetworkPolicy', ns, name)).length === 0);
  });

  it('restores a child deleted or edited by hand', async () => {
    const name = 'drift';
    await applyApp(op.clients, ns, exampleApp('stage-3-split-clients.yaml', name));
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    const svc = (await op.clients.core.readNamespacedService({ name: `${name}-api`, namespace: ns })) as V1Service;
    await op.clients.core.deleteNamespacedService({ name: `${name}-api`, namespace: ns });
    await waitFor('the Service to come back', 30_000, async () => {
      const again = await op.clients.core.readNamespacedService({ name: `${name}-api`, namespace: ns }).catch(() => undefined);
      return !!again && again.metadata?.uid !== svc.metadata?.uid;
    });

    // The caches keep a large spec deflated (packed-fields.kube.ts): an edit to it is seen all the same.
    const cluster = await getCluster();
    const edits = [
      { kind: 'deployment', name: `${name}-web`, read: () => op.clients.apps.readNamespacedDeployment({ name: `${name}-web`, namespace: ns }) },
      { kind: 'statefulset', name: `${name}-db`, read: () => op.clients.apps.readNamespacedStatefulSet({ name: `${name}-db`, namespace: ns }) },
    ];
    for (const edit of edits) {
      const patched = await cluster.kubectl([
        'patch', edit.kind, edit.name, '-n', ns, '--type', 'json',
        '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"evil/image:1"}]',
      ]);
      expect(patched.code, patched.stderr).to.equal(0);
      await waitFor(`the image of ${edit.kind} ${edit.name} to be restored`, 30_000, async () => {
        const live = await edit.read();
        return live.spec?.template.spec?.containers[0]?.image !== 'evil/image:1';
      });
    }
  });

  it('does not run a migrate Job again once it succeeded and is deleted (as its ttlSecondsAfterFinished does)', async () => {
    const name = 'ttl';
    await applyApp(op.clients, ns, exampleApp('stage-2-split-database.yaml', name));
    const ready = await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    const jobs = await listChildren(op.clients, 'batch/v1', 'Job', ns, name);
    expect(jobs).to.have.length(1);
    const job = jobs[0] as { metadata: { name: string }; spec: { ttlSecondsAfterFinished?: number; activeDeadlineSeconds?: number } };
    expect(job.spec).to.include({ ttlSecondsAfterFinished: 86_400, activeDeadlineSeconds: 3_600 });
    expect(ready.status?.completedJobs).to.deep.equal([job.metadata.name]);
    expect(ready.status?.diagram).to.include(`job_${job.metadata.name.replace(/-/g, '_')} --> service_${name}_db_rw`);

    const cluster = await getCluster();
    const deleted = await cluster.kubectl(['delete', 'job', job.metadata.name, '-n', ns, '--cascade=background', '--wait=true']);
    expect(deleted.code, deleted.stderr).to.equal(0);
    // Several resyncs (every 3 s) and the delete event itself: the Job stays gone and the app Ready.
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await listChildren(op.clients, 'batch/v1', 'Job', ns, name)).to.deep.equal([]);
    const after = await readApp(op.clients, ns, name);
    expect(condition(after, 'Ready')?.status).to.equal('True');
    expect(after.status?.completedJobs).to.deep.equal([job.metadata.name]);
  });

  it('makes no write requests while nothing changes', async () => {
    const name = 'steady';
    await applyApp(op.clients, ns, exampleApp('stage-6-data-layer.yaml', name));
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    await op.atRest(); // the last status write and events of the apply have landed
    const before = await op.writes();
    // Resync runs every 3 s: this window covers several reconciles of every app.
    await new Promise((r) => setTimeout(r, 10_000));
    expect((await op.writes()) - before).to.equal(0);
  });

  it('never owns spec.replicas of an autoscaled Deployment', async () => {
    const name = 'scaled';
    await applyApp(op.clients, ns, exampleApp('stage-4-load-balanced.yaml', name));
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    const d = (await op.clients.apps.readNamespacedDeployment({ name: `${name}-api`, namespace: ns })) as V1Deployment;
    const ours = d.metadata?.managedFields?.find((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply');
    expect(JSON.stringify(ours?.fieldsV1)).to.not.contain('f:replicas');
    // Someone else (the HPA) scales it; the operator leaves that alone.
    const cluster = await getCluster();
    const scaled = await cluster.kubectl(['scale', 'deployment', `${name}-api`, '-n', ns, '--replicas=7']);
    expect(scaled.code, scaled.stderr).to.equal(0);
    await applyApp(op.clients, ns, { ...exampleApp('stage-4-load-balanced.yaml', name), metadata: { name, labels: { touched: 'yes' } } });
    await new Promise((r) => setTimeout(r, 4_000));
    const after = await op.clients.apps.readNamespacedDeployment({ name: `${name}-api`, namespace: ns });
    expect(after.spec?.replicas).to.equal(7);
  });

  it('scales the API through the scale subresource', async () => {
    const name = 'scalable';
    await applyApp(op.clients, ns, exampleApp('stage-3-split-clients.yaml', name));
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    const cluster = await getCluster();
    const scaled = await cluster.kubectl(['scale', 'graminstaapp', name, '-n', ns, '--replicas=4']);
    expect(scaled.code, scaled.stderr).to.equal(0);
    await waitFor('4 api replicas', 30_000, async () => {
      const d = await op.clients.apps.readNamespacedDeployment({ name: `${name}-api`, namespace: ns });
      return d.spec?.replicas === 4;
    });
    await waitFor('status.replicas = 4', 60_000, async () => (await readApp(op.clients, ns, name)).status?.replicas === 4);
    // What `kubectl get --subresource=scale` (and an HPA aimed at the app) reads: the count asked for, the pods that
    // exist, and a selector that picks exactly the api pods.
    const scale = JSON.parse((await cluster.kubectl(['get', 'graminstaapp', name, '-n', ns, '--subresource=scale', '-o', 'json'])).stdout) as {
      spec: { replicas: number };
      status: { replicas: number; selector: string };
    };
    expect(scale.spec.replicas).to.equal(4);
    expect(scale.status.replicas).to.equal(4);
    const selected = await op.clients.core.listNamespacedPod({ namespace: ns, labelSelector: scale.status.selector });
    const live = selected.items.filter((p) => !p.metadata?.deletionTimestamp);
    expect(live.map((p) => p.metadata?.labels?.['app.kubernetes.io/component'])).to.deep.equal(['api', 'api', 'api', 'api']);
    expect(live.every((p) => p.metadata?.ownerReferences?.[0]?.name?.startsWith(`${name}-api-`))).to.equal(true);
  });

  it('reports the real api count of a preset-autoscaled app for the scale subresource, and pins it once scaled', async () => {
    const name = 'preset-scaled';
    await applyApp(op.clients, ns, { apiVersion: 'graminsta.io/v1alpha1', kind: 'GraminstaApp', metadata: { name }, spec: { users: 1000 } });
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    const cluster = await getCluster();
    const apiPods = async (selector: string) =>
      (await op.clients.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items.filter((p) => !p.metadata?.deletionTimestamp);
    // spec.api.replicas is unset (the preset's HPA scales the api); status.replicas is the count that runs.
    const app = await readApp(op.clients, ns, name);
    const deployment = await op.clients.apps.readNamespacedDeployment({ name: `${name}-api`, namespace: ns });
    expect(app.spec?.api?.replicas).to.equal(undefined);
    expect(app.status?.replicas).to.equal(deployment.status?.replicas).and.to.be.greaterThan(0);
    const pods = await apiPods(app.status!.selector!);
    expect(pods.length).to.equal(app.status?.replicas);
    expect(new Set(pods.map((p) => p.metadata?.labels?.['app.kubernetes.io/component']))).to.deep.equal(new Set(['api']));
    // The API server refuses GET .../scale while the spec path is absent (docs/api-reference.md says so).
    const refused = await cluster.kubectl(['get', 'graminstaapp', name, '-n', ns, '--subresource=scale', '-o', 'json']);
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.contain('.spec.api.replicas');
    // kubectl scale pins the count: the preset's HPA goes and the scale subresource reads the new count.
    const scaled = await cluster.kubectl(['scale', 'graminstaapp', name, '-n', ns, '--replicas=3']);
    expect(scaled.code, scaled.stderr).to.equal(0);
    await waitFor('the HPA to be pruned', 30_000, async () =>
      op.clients.objects
        .read({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: `${name}-api`, namespace: ns } })
        .then(() => false, (err: unknown) => isNotFound(err)),
    );
    await waitFor('status.replicas = 3', 60_000, async () => (await readApp(op.clients, ns, name)).status?.replicas === 3);
    const scale = JSON.parse((await cluster.kubectl(['get', 'graminstaapp', name, '-n', ns, '--subresource=scale', '-o', 'json'])).stdout) as {
      spec: { replicas: number };
      status: { replicas: number; selector: string };
    };
    expect([scale.spec.replicas, scale.status.replicas]).to.deep.equal([3, 3]);
    expect((await apiPods(scale.status.selector)).length).to.equal(3);
  });

  it('changes nothing while paused and catches up when resumed', async () => {
    const name = 'pausable';
    const app = exampleApp('stage-2-split-database.yaml', name);
    await applyApp(op.clients, ns, app);
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    await applyApp(op.clients, ns, { ...app, spec: { ...app.spec, paused: true } });
    await waitForCondition(op.clients, ns, name, 'Reconciling', 'False', { reason: 'Paused' });
    await op.clients.core.deleteNamespacedService({ name: `${name}-api`, namespace: ns });
    await new Promise((r) => setTimeout(r, 4_000));
    await expect(op.clients.core.readNamespacedService({ name: `${name}-api`, namespace: ns })).to.be.rejected;
    await applyApp(op.clients, ns, { ...app, spec: { ...app.spec, paused: false } });
    await waitFor('the Service to come back', 30_000, async () =>
      op.clients.core.readNamespacedService({ name: `${name}-api`, namespace: ns }).then(() => true, () => false),
    );
  });

  it('reports a missing external database Secret as Stalled, then recovers once it exists', async () => {
    const name = 'external';
    await applyApp(op.clients, ns, { ...exampleApp('stage-2-split-database.yaml', name), spec: { users: 10, database: { external: { secretName: 'rds' } } } });
    const app = await waitForCondition(op.clients, ns, name, 'Stalled', 'True', { reason: 'ExternalDatabaseSecretNotFound' });
    expect(condition(app, 'Stalled')?.message).to.contain('spec.database.external.secretName');
    expect(condition(app, 'Ready')?.status).to.equal('False');
    const cluster = await getCluster();
    await cluster.kubectl(['create', 'secret', 'generic', 'rds', '-n', ns, '--from-literal=host=db.example.com', '--from-literal=password=x']);
    // The operator looks again on its own (no change to the app).
    await waitForCondition(op.clients, ns, name, 'Ready', 'True', { timeoutMs: 90_000 });
  });

  it('leaves deletion of children to the garbage collector', async () => {
    const name = 'doomed';
    await applyApp(op.clients, ns, exampleApp('stage-3-split-clients.yaml', name));
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    await op.clients.customObjects.deleteNamespacedCustomObject({ ...APP_RESOURCE, namespace: ns, name });
    await waitFor('children to be garbage-collected', 60_000, async () => {
      const left = await listChildren(op.clients, 'apps/v1', 'Deployment', ns, name);
      return left.length === 0;
    });
    await expect(readApp(op.clients, ns, name)).to.be.rejectedWith(Error).then((err: unknown) => expect(isNotFound(err)).to.equal(true));
  });
});

describe('GraminstaApp reconcile loop at rest (real API server, an operator of its own namespace)', function () {
  this.timeout(240_000);
  let op: RunningOperator;
  let ns: string;

  before(async () => {
    ns = await createTestNamespace('at-rest');
    op = await startOperator({ watchNamespace: ns, resyncMs: 3_000 });
  });

  after(async () => {
    await op?.stop();
    if (ns) await deleteTestNamespace(ns);
  });

  // Stage 4: a database StatefulSet with a claim, and no user Secret (an app with S3 credentials reads them each pass).
  it('makes no request at all while nothing changes, reads included: claims and the other children come from the caches', async () => {
    const name = 'quiet';
    await applyApp(op.clients, ns, exampleApp('stage-4-load-balanced.yaml', name));
    await waitForCondition(op.clients, ns, name, 'Ready', 'True');
    await waitFor('the claim of the database StatefulSet in the cache', 30_000, () => !!op.controller.claims.get(`data-${name}-db-0`, ns));
    await op.atRest(); // the last status write and events of the apply have landed
    const before = await op.requests();
    await new Promise((r) => setTimeout(r, 10_000)); // resync every 3 s: several passes over the app
    expect((await op.requests()) - before).to.equal(0);
  });
});
