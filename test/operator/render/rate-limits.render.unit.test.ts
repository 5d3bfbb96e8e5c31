import { expect } from 'chai';
import { specSchema, type SchemaNode } from '../../../operator/api/schema.api.js';
import type { GraminstaAppSpec } from '../../../operator/api/types.gen.js';
import { renderApiConfigMap } from '../../../operator/render/config.render.js';
import { loadConfig } from '../../../service/config.js';
import { app, plan } from './helpers.js';

const settings = (spec: GraminstaAppSpec) => renderApiConfigMap(plan(app(spec))).data!;
const limitKeys = (data: Record<string, string>) => Object.keys(data).filter((k) => k.startsWith('GRAMINSTA_RATE_LIMIT_'));

/** What the API process makes of the rendered settings (with the values that come from Secrets filled in). */
function serviceConfig(spec: GraminstaAppSpec) {
  return loadConfig({ ...settings(spec), GRAMINSTA_DB_PASSWORD: 'x', GRAMINSTA_TOKEN_SECRET: 'a-token-secret-of-16+', GRAMINSTA_ORIGIN_TOKEN: 't' }, 'api');
}

describe('rate limits (render)', () => {
  it('are on by default, with the service defaults and no forwarded header trusted without an Ingress', () => {
    const data = settings({ users: 1 });
    expect(data.GRAMINSTA_RATE_LIMITS_ENABLED).to.equal('true');
    expect(data.GRAMINSTA_TRUST_PROXY).to.equal('0');
    expect(limitKeys(data)).to.deep.equal([]);
    expect(serviceConfig({ users: 1 }).rateLimits.enabled).to.equal(true);
  });

  it('trust one proxy (the ingress controller) when the app has an Ingress, or what the spec says', () => {
    expect(settings({ users: 1000 }).GRAMINSTA_TRUST_PROXY).to.equal('1');
    expect(settings({ users: 100 }).GRAMINSTA_TRUST_PROXY).to.equal('0');
    expect(settings({ users: 1000, api: { rateLimits: { trustedProxyHops: 2 } } }).GRAMINSTA_TRUST_PROXY).to.equal('2');
    expect(serviceConfig({ users: 1000 }).trustProxyHops).to.equal(1);
  });

  it('render each limit the spec sets, and the service reads them with its defaults for the rest', () => {
    const spec: GraminstaAppSpec = { api: { rateLimits: { login: { perIP: 5, windowSeconds: 30 }, signup: { perIP: 0 }, uploads: { perAccount: 7 } } } };
    const data = settings(spec);
    expect(Object.fromEntries(limitKeys(data).map((k) => [k, data[k]]))).to.deep.equal({
      GRAMINSTA_RATE_LIMIT_LOGIN_PER_IP: '5',
      GRAMINSTA_RATE_LIMIT_LOGIN_WINDOW_SECONDS: '30',
      GRAMINSTA_RATE_LIMIT_SIGNUP_PER_IP: '0',
      GRAMINSTA_RATE_LIMIT_UPLOADS_PER_ACCOUNT: '7',
    });
    const cfg = serviceConfig(spec).rateLimits;
    expect(cfg.login).to.deep.equal({ perIP: 5, perAccount: 10, windowSeconds: 30 });
    expect(cfg.signup.perIP).to.equal(0);
    expect(cfg.uploads).to.deep.equal({ perIP: 120, perAccount: 7, windowSeconds: 60 });
  });

  it('switch off with enabled: false', () => {
    const data = settings({ users: 1000, api: { rateLimits: { enabled: false } } });
    expect(data.GRAMINSTA_RATE_LIMITS_ENABLED).to.equal('false');
    expect(limitKeys(data)).to.deep.equal([]);
    expect(serviceConfig({ api: { rateLimits: { enabled: false } } }).rateLimits.enabled).to.equal(false);
  });

  it('document in the CRD the defaults the service uses', () => {
    const limits = specSchema.properties!.api!.properties!.rateLimits!.properties!;
    const defaults = serviceConfig({}).rateLimits;
    for (const action of ['login', 'signup', 'uploads'] as const) {
      for (const [field, node] of Object.entries(limits[action]!.properties as Record<string, SchemaNode>)) {
        const documented = /Omitted: (\d+)\./.exec(node.description)?.[1];
        expect(documented, `spec.api.rateLimits.${action}.${field}`).to.equal(String(defaults[action][field as 'perIP']));
      }
    }
  });
});
