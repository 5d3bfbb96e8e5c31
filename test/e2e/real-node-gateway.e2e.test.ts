// End to end on the real node, through its ingress fixture (docs/real-node.md "Ingress fixture": ingress-nginx's 1m
// default body limit, Gateway API HTTPRoutes): a photo as large as the service accepts goes up through the Ingress
// (the rendered body size annotation lets it pass; a spec that lowers it to 1m gets 413), and an app with
// spec.ingress.gatewayRef is reached through a Gateway of the fixture's GatewayClass (API, web and images).
import { expect } from 'chai';
import { join } from 'node:path';
import { repoRoot, run, waitFor } from '../support/cluster.js';
import { example, postPhoto, RealNodeSuite, sha256, signUp } from '../support/real-node-suite.js';
import { PNG } from '../service/harness.js';
import { pngBytes } from '../service/fakes.js';
import { CONTROLLER_NAME } from '../fixtures/ingress-controller/model.fixture.js';
import { fitToNode } from '../../hack/node/fit-app.js';
import { BODY_SIZE_ANNOTATIONS, UPLOAD_BODY_SIZE } from '../../operator/render/ingress.render.js';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../service/limits.js';

const GW_API = 'gateway.networking.k8s.io/v1';
const GW_CRDS = ['gatewayclasses', 'gateways', 'httproutes'].map((p) => `crd/${p}.gateway.networking.k8s.io`);

/** A valid PNG (random pixels, so it does not compress) just under `maxBytes`. */
function photoNear(maxBytes: number): Buffer {
  const width = 3000;
  const photo = pngBytes(width, Math.floor((maxBytes * 0.995) / (width + 1)), true);
  expect(photo.length, 'photo size').to.be.within(maxBytes - 128 * 1024, maxBytes);
  return photo;
}

describe('real node: uploads through the Ingress, and apps behind a Gateway', function () {
  this.timeout(900_000);
  const s = new RealNodeSuite().register();
  let installedCrds: string | undefined;
  let gatewayClass: string | undefined;

  after(async () => {
    if (!s.cluster) return; // skipped
    if (gatewayClass) await s.cluster.kubectl(['delete', 'gatewayclass', gatewayClass, '--ignore-not-found']);
    // Only what this suite installed: the node's fixture goes on without them.
    if (installedCrds) await s.cluster.kubectl(['delete', '--ignore-not-found', '--timeout=60s', '-f', installedCrds]);
  });

  it(`uploads a photo of nearly the service's limit (${DEFAULT_MAX_UPLOAD_BYTES} bytes) through the Ingress and gets it back`, async () => {
    const ns = await s.start('real-upload', 'real-node-upload');
    const spec = fitToNode(example('stage-4-load-balanced.yaml'), { small: true });
    const apiHost = (spec.ingress as { apiHost: string }).apiHost;
    await s.applyApp('graminsta', spec);
    await s.waitReady('graminsta', 'load-balanced');
    await s.allRunning();
    const ingress = JSON.parse(await s.kubectl('get', 'ingress', 'graminsta', '-n', ns, '-o', 'json')) as { metadata: { annotations?: Record<string, string> } };
    expect(ingress.metadata.annotations).to.include({ [BODY_SIZE_ANNOTATIONS.ingressNginx]: UPLOAD_BODY_SIZE });

    const call = s.apiVia(apiHost);
    await waitFor('the API through the ingress', 60_000, async () => (await call('GET', '/readyz')).status === 200, 500);
    const alice = await signUp(call, 'alice');
    const photo = photoNear(DEFAULT_MAX_UPLOAD_BYTES);
    const t0 = Date.now();
    const posted = await postPhoto(call, alice, photo, 'as large as allowed');
    console.log(`      ${(photo.length / 1048576).toFixed(2)} MiB up through the Ingress in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const back = await call('GET', posted.imageUrl);
    expect(back.status).to.equal(200);
    expect(back.body.length).to.equal(photo.length);
    expect(sha256(back.body)).to.equal(sha256(photo));

    // The control: at the limit the controller has by default (1m), a 2 MiB upload is refused by the ingress (413).
    await s.applyApp('graminsta', { ...spec, ingress: { ...(spec.ingress as object), annotations: { [BODY_SIZE_ANNOTATIONS.ingressNginx]: '1m' } } });
    const small = photoNear(2 * 1024 * 1024);
    // Until the fixture runs the new config, probe with a slot that does not exist (the API answers 4xx, never 413),
    // so that no real upload goes through early; then a real one.
    const answer = async (url: string) => {
      const put = await call('PUT', url, { token: alice, raw: small, headers: { 'content-type': 'image/png' } }).catch((err: Error) => err);
      return put instanceof Error ? put.message : String(put.status);
    };
    let last = '';
    await waitFor('the ingress to refuse 2 MiB bodies at 1m', 60_000, async () => (last = await answer('/api/v1/uploads/00000000-0000-0000-0000-000000000000/content')) === '413', 1000).catch((err: Error) => {
      throw new Error(`${err.message}: last answer ${last}`);
    });
    const up = (await call('POST', '/api/v1/uploads', { token: alice, json: { contentType: 'image/png', size: small.length } })).json() as { url: string; headers: Record<string, string> };
    const refused = await call('PUT', up.url, { token: alice, raw: small, headers: up.headers });
    expect(refused.status, refused.body.toString().slice(0, 200)).to.equal(413);
  });

  it('serves an app with spec.ingress.gatewayRef through a Gateway of the fixture: API, web and images', async () => {
    // The Gateway API CRDs, unless the cluster has them (the node's fixture looks for them every 2 s).
    if ((await s.cluster.kubectl(['get', 'crd', 'httproutes.gateway.networking.k8s.io'])).code !== 0) {
      const crds = await run('bash', [join(repoRoot, 'hack/gateway-api-crds.sh')]);
      expect(crds.code, crds.stderr).to.equal(0);
      installedCrds = crds.stdout.trim();
      await s.kubectl('apply', '--server-side', '-f', installedCrds);
      await s.kubectl('wait', '--for=condition=Established', '--timeout=60s', ...GW_CRDS);
    }
    gatewayClass = `graminsta-e2e-${Math.random().toString(36).slice(2, 7)}`;
    await waitFor('the GatewayClass API', 30_000, async () => {
      const res = await s.cluster.kubectl(['apply', '--server-side', '-f', '-'], {
        input: JSON.stringify({ apiVersion: GW_API, kind: 'GatewayClass', metadata: { name: gatewayClass }, spec: { controllerName: CONTROLLER_NAME } }),
      });
      return res.code === 0;
    }, 1000);

    // The operator looks for optional APIs every 2 s, should the CRDs still be settling when it starts.
    const ns = await s.start('real-gateway', 'real-node-gateway', { GRAMINSTA_DISCOVERY_INTERVAL_SECONDS: '2' });
    await s.applyObject({
      apiVersion: GW_API,
      kind: 'Gateway',
      metadata: { name: 'public', namespace: ns },
      spec: { gatewayClassName: gatewayClass, listeners: [{ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } }] },
    });
    const spec = fitToNode(example('gateway.yaml'), { small: true });
    const ingress = spec.ingress as { apiHost: string; webHost: string; gatewayRef: Record<string, string> };
    ingress.gatewayRef = { name: 'public', namespace: ns, sectionName: 'http' };
    await s.applyApp('graminsta', spec);
    const app = await s.waitReady('graminsta', 'load-balanced');
    expect(app.status!.conditions!.find((c) => c.type === 'IngressReady')).to.include({ status: 'True', reason: 'Accepted' });
    await s.allRunning();
    expect(JSON.parse(await s.kubectl('get', 'ingress', '-n', ns, '-o', 'json')).items, 'Ingresses').to.deep.equal([]);
    const routes = JSON.parse(await s.kubectl('get', 'httproute', '-n', ns, '-o', 'json')).items as { metadata: { name: string } }[];
    expect(routes.map((r) => r.metadata.name).sort()).to.deep.equal(['graminsta', 'graminsta-api']);

    // Through the Gateway (the fixture serves every listener on its one address): the API, an image, the web page.
    const call = s.apiVia(ingress.apiHost);
    await waitFor('the API through the Gateway', 60_000, async () => (await call('GET', '/readyz')).status === 200, 500);
    const alice = await signUp(call, 'alice');
    const posted = await postPhoto(call, alice, PNG, 'through the Gateway');
    const image = await call('GET', posted.imageUrl);
    expect(image.status).to.equal(200);
    expect(sha256(image.body)).to.equal(sha256(PNG));
    const page = await s.apiVia(ingress.webHost)('GET', '/');
    expect(page.status).to.equal(200);
    expect(page.body.toString()).to.match(/<html/i);
  });
});
