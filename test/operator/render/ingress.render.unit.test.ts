import { expect } from 'chai';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../../service/limits.js';
import {
  BODY_SIZE_ANNOTATIONS,
  bodySizeAnnotations,
  NO_BODY_LIMIT_CLASSES,
  renderIngress,
  UPLOAD_BODY_SIZE,
} from '../../../operator/render/ingress.render.js';
import { app, plan } from './helpers.js';

describe('ingress.render', () => {
  it('is absent before stage load-balanced unless configured', () => {
    expect(renderIngress(plan(app({ users: 100 })))).to.equal(null);
    expect(renderIngress(plan(app({ users: 100, ingress: { apiHost: 'api.x.example' } })))).to.not.equal(null);
  });

  it('routes apiHost to the API and webHost to web, with TLS, class and annotations', () => {
    const ing = renderIngress(plan(
      app({
        users: 1000,
        ingress: {
          className: 'nginx',
          apiHost: 'api.x.example',
          webHost: 'x.example',
          tls: { secretName: 'x-tls' },
          annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
        },
      })))!;
    expect(ing.spec?.ingressClassName).to.equal('nginx');
    expect(ing.metadata?.annotations).to.deep.equal({
      'cert-manager.io/cluster-issuer': 'letsencrypt',
      'nginx.ingress.kubernetes.io/proxy-body-size': '10m',
      'nginx.org/client-max-body-size': '10m',
    });
    expect(ing.spec?.tls).to.deep.equal([{ hosts: ['api.x.example', 'x.example'], secretName: 'x-tls' }]);
    const routes = ing.spec!.rules!.map((r) => [
      r.host,
      r.http!.paths.map((p) => `${p.path}->${p.backend.service!.name}`),
    ]);
    expect(routes).to.deep.equal([
      ['api.x.example', ['/->graminsta-api']],
      ['x.example', ['/->graminsta-web']],
    ]);
    expect(
      plan(
        app({
          users: 1000,
          ingress: { apiHost: 'api.x.example', webHost: 'x.example', tls: { secretName: 't' } },
        }),
      ).endpoints,
    ).to.deep.equal({
      api: 'https://api.x.example',
      web: 'https://x.example',
      cdn: 'https://api.x.example/images/',
    });
  });

  it('without hosts routes /api and /images to the API and the rest to web, host-less', () => {
    const ing = renderIngress(plan(app({ users: 1000 })))!;
    expect(ing.spec?.rules).to.have.length(1);
    const rule = ing.spec!.rules![0]!;
    expect(rule.host).to.equal(undefined);
    expect(rule.http!.paths.map((p) => `${p.path}->${p.backend.service!.name}`)).to.deep.equal([
      '/api->graminsta-api',
      '/images->graminsta-api',
      '/->graminsta-web',
    ]);
    expect(ing.spec).to.not.have.property('tls');
    expect(ing.spec).to.not.have.property('ingressClassName');
  });

  it('gives in-cluster Service URLs and the CDN base URL as endpoints without an Ingress', () => {
    expect(
      plan(
        app({ users: 100, cdn: { publicBaseURL: 'https://cdn.x.example' }, ingress: undefined }),
      ).endpoints,
    ).to.deep.equal({
      api: 'http://graminsta-api.photos.svc',
      web: 'http://graminsta-web.photos.svc',
      cdn: 'https://cdn.x.example',
    });
  });

  it('lets uploads of the service limit through the NGINX controllers: their body size annotations, derived from the limit', () => {
    // nginx sizes: the service's limit in whole MiB, never below it.
    expect(parseInt(UPLOAD_BODY_SIZE, 10) * 1024 * 1024).to.be.at.least(DEFAULT_MAX_UPLOAD_BYTES);
    expect(UPLOAD_BODY_SIZE).to.match(/^\d+m$/);
    const both = { [BODY_SIZE_ANNOTATIONS.ingressNginx]: UPLOAD_BODY_SIZE, [BODY_SIZE_ANNOTATIONS.nginxInc]: UPLOAD_BODY_SIZE };
    // No class (the cluster default, unknown to the operator), nginx, and class names chosen freely.
    for (const className of [undefined, 'nginx', 'internal-nginx', 'fixture']) expect(bodySizeAnnotations(className), String(className)).to.deep.equal(both);
    // Controllers without a default limit get nothing.
    for (const className of NO_BODY_LIMIT_CLASSES) expect(bodySizeAnnotations(className), className).to.deep.equal({});
    const traefik = renderIngress(plan(app({ users: 1000, ingress: { className: 'traefik' } })))!;
    expect(traefik.metadata).to.not.have.property('annotations');
  });

  it('keeps a body size the spec sets (0: no limit) over the rendered one', () => {
    const ing = renderIngress(plan(app({ users: 1000, ingress: { annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '0' } } })))!;
    expect(ing.metadata?.annotations).to.deep.equal({ 'nginx.ingress.kubernetes.io/proxy-body-size': '0', 'nginx.org/client-max-body-size': UPLOAD_BODY_SIZE });
  });

  it('renders no Ingress with gatewayRef (HTTPRoutes instead)', () => {
    expect(renderIngress(plan(app({ users: 1000, ingress: { gatewayRef: { name: 'public' } } })))).to.equal(null);
  });
});
