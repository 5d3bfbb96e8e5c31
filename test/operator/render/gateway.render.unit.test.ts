import { expect } from 'chai';
import { httpRouteNames, renderHTTPRoutes, type HTTPRoute } from '../../../operator/render/gateway.render.js';
import { renderIngress } from '../../../operator/render/ingress.render.js';
import { planOf } from '../../../operator/render/plan.render.js';
import { app, ctx, IMAGES, render, resolved } from './helpers.js';

const served = { ...ctx(), gatewayApi: true };
const routesOf = (r: HTTPRoute) => r.spec.rules.map((x) => `${x.matches[0]!.path.value}->${x.backendRefs[0]!.name}:${x.backendRefs[0]!.port}`);

describe('gateway.render', () => {
  it('attaches one HTTPRoute per host to the Gateway: apiHost to the API, webHost to web', () => {
    const routes = renderHTTPRoutes(
      resolved(app({ users: 1000, ingress: { gatewayRef: { name: 'public', namespace: 'infra', sectionName: 'https', scheme: 'https' }, apiHost: 'api.x.example', webHost: 'x.example' } }), served),
    );
    expect(routes.map((r) => [r.metadata.name, r.spec.hostnames, routesOf(r)])).to.deep.equal([
      ['graminsta-api', ['api.x.example'], ['/->graminsta-api:80']],
      ['graminsta', ['x.example'], ['/->graminsta-web:80']],
    ]);
    for (const r of routes) {
      expect(r).to.include({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' });
      expect(r.metadata.namespace).to.equal('photos');
      expect(r.spec.parentRefs).to.deep.equal([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'infra', sectionName: 'https' }]);
    }
  });

  it('without hosts routes /api and /images to the API and the rest to web on one host-less route, the Gateway in the app namespace', () => {
    const [route, ...more] = renderHTTPRoutes(resolved(app({ users: 1000, ingress: { gatewayRef: { name: 'public' } } }), served));
    expect(more).to.deep.equal([]);
    expect(route!.metadata.name).to.equal('graminsta');
    expect(route!.spec).to.not.have.property('hostnames');
    expect(routesOf(route!)).to.deep.equal(['/api->graminsta-api:80', '/images->graminsta-api:80', '/->graminsta-web:80']);
    expect(route!.spec.parentRefs).to.deep.equal([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'photos' }]);
  });

  it('has the same routes as the Ingress would have', () => {
    const spec = { users: 1000, ingress: { apiHost: 'api.x.example' } };
    const ingress = renderIngress(planOf(app(spec), IMAGES))!;
    const routes = renderHTTPRoutes(resolved(app({ ...spec, ingress: { ...spec.ingress, gatewayRef: { name: 'gw' } } }), served));
    const fromIngress = ingress.spec!.rules!.map((r) => [r.host ?? null, r.http!.paths.map((p) => `${p.path}->${p.backend.service!.name}:80`)]);
    expect(routes.map((r) => [r.spec.hostnames?.[0] ?? null, routesOf(r)])).to.deep.equal(fromIngress);
  });

  it('copies the spec annotations onto the routes but not the Ingress body size ones (no class: no Ingress controller)', () => {
    const routes = renderHTTPRoutes(resolved(app({ users: 1000, ingress: { gatewayRef: { name: 'gw' }, annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'x.example' } } }), served));
    expect(routes[0]!.metadata.annotations).to.deep.equal({ 'external-dns.alpha.kubernetes.io/hostname': 'x.example' });
  });

  it('renders nothing where the cluster does not serve HTTPRoutes, and no Ingress in their place', () => {
    const objects = render(app({ users: 1000, ingress: { gatewayRef: { name: 'gw' } } }));
    expect(objects.filter((o) => o.kind === 'HTTPRoute' || o.kind === 'Ingress')).to.deep.equal([]);
    expect(render(app({ users: 1000, ingress: { gatewayRef: { name: 'gw' } } }), served).filter((o) => o.kind === 'HTTPRoute')).to.have.length(1);
  });

  it('renders nothing without gatewayRef, and rejects it with className or tls, naming the field', () => {
    expect(renderHTTPRoutes(resolved(app({ users: 1000 }), served))).to.deep.equal([]);
    expect(() => planOf(app({ users: 1000, ingress: { gatewayRef: { name: 'gw' }, className: 'nginx' } }), IMAGES)).to.throw(/spec\.ingress\.gatewayRef: excludes .*className and tls/);
    expect(() => planOf(app({ users: 1000, ingress: { gatewayRef: { name: 'gw' }, webHost: 'x.example', tls: { secretName: 't' } } }), IMAGES)).to.throw(/spec\.ingress\.gatewayRef/);
  });

  it('gives endpoints with the scheme of the Gateway listener (scheme), http when omitted', () => {
    const withScheme = (scheme?: 'http' | 'https') =>
      planOf(app({ users: 1000, ingress: { gatewayRef: { name: 'gw', ...(scheme ? { scheme } : {}) }, apiHost: 'api.x.example', webHost: 'x.example' } }), IMAGES).endpoints;
    expect(withScheme('https')).to.deep.equal({ api: 'https://api.x.example', web: 'https://x.example', cdn: 'https://api.x.example/images/' });
    expect(withScheme().api).to.equal('http://api.x.example');
    expect(withScheme('http').api).to.equal('http://api.x.example');
    // The scheme is ours, not the Gateway API's: it is not part of the parentRef.
    expect(renderHTTPRoutes(resolved(app({ users: 1000, ingress: { gatewayRef: { name: 'gw', scheme: 'https' } } }), served))[0]!.spec.parentRefs[0]).to.not.have.property('scheme');
  });

  it('names the routes the status looks for as they are rendered, and none without gatewayRef', () => {
    for (const ingress of [{ gatewayRef: { name: 'gw' } }, { gatewayRef: { name: 'gw' }, apiHost: 'api.x.example' }, { gatewayRef: { name: 'gw' }, apiHost: 'api.x.example', webHost: 'x.example' }]) {
      const a = app({ users: 1000, ingress });
      expect(httpRouteNames(planOf(a, IMAGES)), JSON.stringify(ingress)).to.deep.equal(renderHTTPRoutes(resolved(a, served)).map((r) => r.metadata.name));
    }
    expect(httpRouteNames(planOf(app({ users: 1000 }), IMAGES))).to.deep.equal([]);
  });
});
