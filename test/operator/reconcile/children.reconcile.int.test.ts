// Ownership of children against the real API server: an object under a wanted name that the app did not
// create is left untouched and reported (never adopted), and a stale Job deleted for a new template takes
// its pods with it.
import { expect } from 'chai';
import { BatchV1Api, type CoreV1Event, type V1Job, type V1Service } from '@kubernetes/client-node';
import { renderApp } from '../../../operator/render/app.render.js';
import { planOf } from '../../../operator/render/plan.render.js';
import { isNotFound } from '../../../operator/kube/errors.kube.js';
import { createTestNamespace, deleteTestNamespace, getCluster, waitFor } from '../../support/cluster.js';
import { TEST_IMAGES, applyApp, condition, exampleApp, readApp, startOperator, waitForCondition, type RunningOperator } from '../../support/operator.js';

describe('children: ownership (real API server)', function () {
  this.timeout(180_000);
  let op: RunningOperator;
  let ns: string;
  let batch: BatchV1Api;

  before(async () => {
    batch = (await getCluster()).kc.makeApiClient(BatchV1Api);
    ns = await createTestNamespace('children');
    op = await startOperator({ resyncMs: 2_000, watchNamespace: ns });
  });

  after(async () => {
    await op?.stop();
    if (ns) await deleteTestNamespace(ns);
  });

  it('leaves a same-named object it did not create untouched, reports it once, and creates its own once it is gone', async () => {
    const name = 'squatted';
    const app = exampleApp('stage-1-single-machine.yaml', name);
    const wanted = renderApp(planOf({ ...app, metadata: { ...app.metadata, namespace: ns } }, TEST_IMAGES), { existingSecrets: {}, generatePassword: () => 'x' });
    const serviceName = wanted.find((o) => o.kind === 'Service')!.metadata!.name!;
    const foreign = await op.clients.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: serviceName, labels: { team: 'someone-else' } }, spec: { ports: [{ port: 9999 }] } },
    });

    await applyApp(op.clients, ns, app);
    const degraded = await waitForCondition(op.clients, ns, name, 'Stalled', 'True', { reason: 'AlreadyOwned' });
    expect(condition(degraded, 'Stalled')?.message).to.contain(`Service ${ns}/${serviceName}`);
    // Several resyncs later: the Service is as it was, and there is one Event about it.
    await new Promise((r) => setTimeout(r, 6_000));
    const after = await op.clients.core.readNamespacedService({ namespace: ns, name: serviceName });
    expect(after.metadata?.resourceVersion, 'the foreign Service was not written').to.equal(foreign.metadata?.resourceVersion);
    expect(after.metadata?.ownerReferences ?? []).to.deep.equal([]);
    const events = (await op.clients.core.listNamespacedEvent({ namespace: ns })).items.filter(
      (e: CoreV1Event) => e.involvedObject.name === name && e.reason === 'AlreadyOwned' && e.type === 'Warning',
    );
    expect(events, 'AlreadyOwned warnings').to.have.length(1);
    expect(events[0]!.message).to.contain(serviceName);

    await op.clients.core.deleteNamespacedService({ namespace: ns, name: serviceName });
    await waitForCondition(op.clients, ns, name, 'Ready', 'True', { timeoutMs: 90_000 });
    const ours: V1Service = await op.clients.core.readNamespacedService({ namespace: ns, name: serviceName });
    const uid = (await readApp(op.clients, ns, name)).metadata.uid;
    expect(ours.metadata?.ownerReferences?.map((r) => r.uid)).to.deep.equal([uid]);
  });

  it('deletes a stale Job under its name (an older template) together with its pods, and does not run again a Job that succeeded', async () => {
    const name = 'rejob';
    const app = exampleApp('stage-2-split-database.yaml', name);
    await applyApp(op.clients, ns, app);
    await waitForCondition(op.clients, ns, name, 'Ready', 'True', { timeoutMs: 90_000 });
    const jobs = await batch.listNamespacedJob({ namespace: ns, labelSelector: 'app.kubernetes.io/managed-by=graminsta-operator' });
    const current = jobs.items.find((j) => j.metadata?.name?.startsWith(`${name}-migrate-`));
    if (!current) throw new Error('stage 2 made no migrate Job');
    const jobName = current.metadata!.name!;

    // Paused, the Job is replaced by one of ours under the same name with an older template (as an
    // earlier operator version would have made it), whose pods run.
    await applyApp(op.clients, ns, { ...app, spec: { ...app.spec, paused: true } });
    await batch.deleteNamespacedJob({ namespace: ns, name: jobName, propagationPolicy: 'Background' });
    await waitFor('the Job to be gone', 30_000, async () => !(await batch.readNamespacedJob({ namespace: ns, name: jobName }).catch(() => undefined)));
    const template = structuredClone(current.spec!.template);
    for (const generated of ['batch.kubernetes.io/controller-uid', 'controller-uid', 'batch.kubernetes.io/job-name', 'job-name']) {
      delete template.metadata?.labels?.[generated];
    }
    template.spec!.containers[0]!.image = 'ghcr.io/graminsta/graminsta-service:older';
    const { labels, annotations, ownerReferences } = current.metadata!;
    const old: V1Job = { metadata: { name: jobName, namespace: ns, labels, annotations, ownerReferences }, spec: { backoffLimit: current.spec!.backoffLimit, template } };
    const created = await batch.createNamespacedJob({ namespace: ns, body: old });
    await waitFor('the old Job to have a pod', 60_000, async () => (await jobPods(created.metadata!.uid!)).length > 0);
    const oldPods = await jobPods(created.metadata!.uid!);

    await applyApp(op.clients, ns, { ...app, spec: { ...app.spec, paused: false } });
    // The stale Job is deleted; the Job of the current template already succeeded (status.completedJobs records
    // it), so it is not run again, and the app stays Ready.
    await waitFor('the stale Job to be deleted', 60_000, async () => {
      const now = await batch.readNamespacedJob({ namespace: ns, name: jobName }).catch(() => undefined);
      return now?.metadata?.uid !== created.metadata?.uid;
    });
    await waitFor('the old Job’s pods to be deleted', 60_000, async () => {
      const left = await Promise.all(oldPods.map((pod) => op.clients.core.readNamespacedPod({ namespace: ns, name: pod }).then(() => true, (err: unknown) => !isNotFound(err))));
      return !left.some(Boolean);
    });
    const status = (await waitForCondition(op.clients, ns, name, 'Ready', 'True', { timeoutMs: 60_000 })).status as { completedJobs?: string[] };
    expect(status.completedJobs).to.include(jobName);

    async function jobPods(uid: string): Promise<string[]> {
      const pods = await op.clients.core.listNamespacedPod({ namespace: ns, labelSelector: `batch.kubernetes.io/controller-uid=${uid}` });
      return pods.items.map((p) => p.metadata!.name!);
    }
  });
});
