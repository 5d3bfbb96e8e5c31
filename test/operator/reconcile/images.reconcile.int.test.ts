// The operator's image settings against the real API server: the operator applies exactly the objects,
// images and Job names that `graminsta render` prints for the same app and the same settings.
import { expect } from 'chai';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubernetesObject, V1PodSpec } from '@kubernetes/client-node';
import { runCli } from '../../../operator/cli.js';
import { loadImageSettings } from '../../../operator/config.js';
import { createTestNamespace, deleteTestNamespace, getCluster, repoRoot, waitFor } from '../../support/cluster.js';
import { applyApp, exampleApp, startOperator, type RunningOperator } from '../../support/operator.js';

const EXAMPLE = 'stage-6-data-layer.yaml';
const DIGEST = `sha256:${'c'.repeat(64)}`;
/** The settings both sides get, as the environment of the operator and of the CLI. */
const ENV = {
  GRAMINSTA_SERVICE_IMAGE: `registry.local:5000/graminsta-service@${DIGEST}`,
  GRAMINSTA_POSTGRES_IMAGE: 'registry.local:5000/postgres:{version}-bookworm',
  GRAMINSTA_REDIS_IMAGE: 'registry.local:5000/redis:7.4-bookworm',
};

function images(obj: KubernetesObject): string[] {
  const pod = (obj as { spec?: { template?: { spec?: V1PodSpec } } }).spec?.template?.spec;
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].map((c) => `${c.name}=${c.image}`);
}

describe('image settings: the operator applies what graminsta render prints (real API server)', function () {
  this.timeout(240_000);
  let op: RunningOperator;
  let ns: string;

  before(async () => {
    const cluster = await getCluster();
    ns = await createTestNamespace('images');
    await cluster.kubectl(['create', 'secret', 'generic', 'graminsta-s3', '-n', ns, '--from-literal=AWS_ACCESS_KEY_ID=a', '--from-literal=AWS_SECRET_ACCESS_KEY=b']);
    op = await startOperator({ resyncMs: 3_000, images: loadImageSettings(ENV) });
  });

  after(async () => {
    await op?.stop();
    if (ns) await deleteTestNamespace(ns);
  });

  it(`applies the objects, images and Job names of \`graminsta render -f examples/${EXAMPLE}\``, async () => {
    const cli = await runCli(['render', '-f', join(repoRoot, 'examples', EXAMPLE), '-n', ns], undefined, ENV);
    expect(cli.stderr).to.equal('');
    const printed = parseAllDocuments(cli.stdout).map((d) => d.toJS() as KubernetesObject);
    const app = exampleApp(EXAMPLE);
    expect(printed.every((o) => o.metadata?.namespace === ns)).to.equal(true);
    const everyImage = printed.flatMap(images).join(' ');
    for (const image of [ENV.GRAMINSTA_SERVICE_IMAGE, 'registry.local:5000/postgres:16-bookworm', ENV.GRAMINSTA_REDIS_IMAGE]) {
      expect(everyImage).to.contain(image);
    }

    await applyApp(op.clients, ns, app);
    const live = new Map<string, KubernetesObject>();
    await waitFor(`every printed object of ${app.metadata.name} to exist`, 180_000, async () => {
      for (const obj of printed) {
        const key = `${obj.kind}/${obj.metadata!.name}`;
        if (live.has(key)) continue;
        try {
          live.set(key, await op.clients.objects.read({ apiVersion: obj.apiVersion!, kind: obj.kind!, metadata: { name: obj.metadata!.name!, namespace: ns } }));
        } catch {
          return false;
        }
      }
      return true;
    });
    for (const obj of printed) {
      const applied = live.get(`${obj.kind}/${obj.metadata!.name}`)!;
      expect(images(applied), `${obj.kind}/${obj.metadata!.name}`).to.deep.equal(images(obj));
      if (obj.kind === 'ConfigMap') expect((applied as { data?: unknown }).data).to.deep.equal((obj as { data?: unknown }).data);
    }
    // Nothing applied that the CLI did not print (Jobs and every other kind the app owns).
    for (const kind of [...new Set(printed.map((o) => `${o.apiVersion}|${o.kind}`))]) {
      const [apiVersion, k] = kind.split('|') as [string, string];
      const list = await op.clients.objects.list(apiVersion, k, ns, undefined, undefined, undefined, undefined, `app.kubernetes.io/instance=${app.metadata.name}`);
      const names = list.items.map((o) => o.metadata!.name!).sort();
      expect(names, k).to.deep.equal(printed.filter((o) => o.kind === k).map((o) => o.metadata!.name!).sort());
    }
  });
});
