import { expect } from 'chai';
import { renderIngress } from '../../../operator/render/ingress.render.js';
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
          annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '10m' },
        },
      })))!;
    expect(ing.spec?.ingressClassName).to.equal('nginx');
    expect(ing.metadata?.annotations).to.deep.equal({ 'nginx.ingress.kubernetes.io/proxy-body-size': '10m' });
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
});
