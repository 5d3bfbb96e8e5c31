import { expect } from 'chai';
import {
  renderApiDeployment,
  renderApiHpa,
  renderApiPdb,
  renderApiService,
} from '../../../operator/render/api.render.js';
import { AFTER_JOB_ANNOTATION, CONFIG_HASH_ANNOTATION } from '../../../operator/render/names.render.js';
import { app, ctx, plan, resolved } from './helpers.js';

describe('api.render', () => {
  it('sets spec.replicas when autoscaling is absent', () => {
    const d = renderApiDeployment(resolved(app({ users: 10, api: { replicas: 3 } }), ctx()));
    expect(d?.spec?.replicas).to.equal(3);
    expect(renderApiHpa(plan(app({ users: 10, api: { replicas: 3 } })))).to.equal(null);
  });

  it('omits spec.replicas entirely when an HPA scales the Deployment', () => {
    const a = app({ users: 10, api: { autoscaling: { minReplicas: 2, maxReplicas: 7 } } });
    const d = renderApiDeployment(resolved(a, ctx()));
    expect(d?.spec).to.not.have.property('replicas');
    const h = renderApiHpa(plan(a));
    expect(h?.spec?.minReplicas).to.equal(2);
    expect(h?.spec?.maxReplicas).to.equal(7);
    expect(h?.spec?.scaleTargetRef).to.deep.equal({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'graminsta-api',
    });
  });

  it('passes the autoscaling behavior through unchanged', () => {
    const behavior = {
      scaleDown: {
        stabilizationWindowSeconds: 600,
        policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
      },
    };
    const h = renderApiHpa(plan(
      app({ api: { autoscaling: { maxReplicas: 9, targetCPUUtilizationPercentage: 55, behavior } } })));
    expect(h?.spec?.behavior).to.deep.equal(behavior);
    expect(h?.spec?.metrics?.[0]?.resource?.target.averageUtilization).to.equal(55);
  });

  it('renders a PDB only when at least two pods always run', () => {
    expect(renderApiPdb(plan(app({ users: 10, api: { replicas: 1 } })))).to.equal(null);
    expect(
      renderApiPdb(plan(app({ users: 10, api: { autoscaling: { minReplicas: 1, maxReplicas: 4 } } }))),
    ).to.equal(null);
    const p = renderApiPdb(plan(app({ users: 10, api: { replicas: 2 } })));
    expect(p?.spec?.maxUnavailable).to.equal(1);
    expect(p?.spec?.selector?.matchLabels?.['app.kubernetes.io/component']).to.equal('api');
    expect(
      renderApiPdb(plan(app({ users: 10, api: { autoscaling: { minReplicas: 3, maxReplicas: 4 } } }))),
    ).to.not.equal(null);
  });

  it('has no API Deployment in the single-machine stage; the Service selects the single pod', () => {
    const a = app({ users: 1 });
    expect(renderApiDeployment(resolved(a, ctx()))).to.equal(null);
    expect(renderApiService(plan(a)).spec?.selector?.['app.kubernetes.io/component']).to.equal('database');
    expect(renderApiService(plan(app({ users: 10 }))).spec?.selector?.['app.kubernetes.io/component']).to.equal(
      'api',
    );
  });

  it('rejects autoscaling or several replicas while Postgres shares the API pod, naming the field', () => {
    expect(() => renderApiDeployment(resolved(app({ users: 1, api: { replicas: 2 } }), ctx()))).to.throw(
      /spec\.api\.replicas/,
    );
    expect(() => renderApiHpa(plan(app({ users: 1, api: { autoscaling: {} } })))).to.throw(
      /spec\.api\.autoscaling/,
    );
  });

  it('gates the Deployment on the migrate Job and names the Job after image and database settings', () => {
    const a = renderApiDeployment(resolved(app({ users: 10 }), ctx()));
    const b = renderApiDeployment(resolved(app({ users: 10, image: 'registry.example/graminsta:v2' }), ctx()));
    const jobA = a?.metadata?.annotations?.[AFTER_JOB_ANNOTATION];
    const jobB = b?.metadata?.annotations?.[AFTER_JOB_ANNOTATION];
    expect(jobA).to.match(/^graminsta-migrate-[0-9a-f]{10}$/);
    expect(jobB).to.match(/^graminsta-migrate-[0-9a-f]{10}$/);
    expect(jobA).to.not.equal(jobB);
    expect(
      renderApiDeployment(resolved(app({ users: 10, api: { replicas: 4 } }), ctx()))?.metadata?.annotations?.[
        AFTER_JOB_ANNOTATION
      ],
    ).to.equal(jobA);
  });

  it('changes the config hash when the configuration changes, not otherwise', () => {
    const hash = (spec: Parameters<typeof app>[0], c = ctx()) =>
      renderApiDeployment(resolved(app(spec), c))?.spec?.template?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
    const base = hash({ users: 10 });
    expect(hash({ users: 10 })).to.equal(base);
    expect(hash({ users: 10, api: { replicas: 5 } })).to.equal(base);
    expect(hash({ users: 10, cache: { ttlSeconds: 60 } })).to.not.equal(base);
    expect(hash({ users: 10 }, ctx({ 'graminsta-token': { 'token-secret': 'rotated' } }))).to.not.equal(base);
  });
});
