import { expect } from 'chai';
import type { V1Deployment, V1Job, V1StatefulSet } from '@kubernetes/client-node';
import type { RenderedObject } from '../../../operator/render/app.render.js';
import { VERSION_LABEL, serviceVersion } from '../../../operator/render/names.render.js';
import { isGeneratedSecret } from '../../../operator/render/secrets.render.js';
import { IMAGES, app, ctx, render } from './helpers.js';

const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
const withService = (service: string) => ({ ...IMAGES, service });
const byId = (objects: RenderedObject[]) => new Map(objects.map((o) => [`${o.kind}/${o.metadata!.name}`, o]));
const templateLabels = (o: RenderedObject) => (o as V1Deployment | V1StatefulSet | V1Job).spec?.template?.metadata?.labels;

/** Every label selector of an object: Service, workload, PDB and topology-spread selectors. */
function selectors(o: RenderedObject): unknown[] {
  const spec = (o as { spec?: Record<string, unknown> }).spec ?? {};
  const out: unknown[] = [];
  if (o.kind === 'Service') out.push(spec.selector);
  if (spec.selector && o.kind !== 'Service') out.push(spec.selector);
  const pod = (spec.template as { spec?: { topologySpreadConstraints?: { labelSelector?: unknown }[] } } | undefined)?.spec;
  for (const c of pod?.topologySpreadConstraints ?? []) out.push(c.labelSelector);
  return out;
}

describe('app.kubernetes.io labels', () => {
  it('serviceVersion: the tag, else a short digest, else latest, always a valid label value', () => {
    expect(serviceVersion('ghcr.io/graminsta/graminsta-service:0.1.0')).to.equal('0.1.0');
    expect(serviceVersion('registry.local:5000/svc:v2.3-rc.1')).to.equal('v2.3-rc.1');
    expect(serviceVersion(`registry.local:5000/svc@${digest}`)).to.equal('0123456789ab');
    expect(serviceVersion(`registry.local/svc:1.2.3@${digest}`)).to.equal('1.2.3');
    expect(serviceVersion('registry.local:5000/svc')).to.equal('latest');
    expect(serviceVersion(`svc:_${'x'.repeat(100)}`)).to.equal('x'.repeat(63).slice(0, 62));
    expect(serviceVersion('svc:1.0-')).to.equal('1.0');
    for (const v of ['0.1.0', serviceVersion(`svc:_${'x'.repeat(100)}-`)]) expect(v).to.match(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/);
  });

  it('every object but the generated Secrets carries name, instance, component, part-of, managed-by and version', () => {
    for (const users of [1, 10, 100, 1000, 10000, 100000]) {
      for (const o of render(app({ users }), ctx(), withService('registry.example/graminsta:1.4.2'))) {
        const labels = o.metadata!.labels!;
        expect(Object.keys(labels), `${o.kind}/${o.metadata!.name}`).to.include.members([
          'app.kubernetes.io/name',
          'app.kubernetes.io/instance',
          'app.kubernetes.io/component',
          'app.kubernetes.io/part-of',
          'app.kubernetes.io/managed-by',
        ]);
        if (isGeneratedSecret(o)) expect(labels).to.not.have.property(VERSION_LABEL);
        else expect(labels[VERSION_LABEL], `${o.kind}/${o.metadata!.name}`).to.equal('1.4.2');
      }
    }
  });

  it('puts the version on the pods that run the service image only', () => {
    const objects = byId(render(app({ users: 100000, cdn: { origin: { volume: { size: '5Gi' } } } }), ctx(), withService('r/svc:9')));
    for (const id of ['Deployment/graminsta-api', 'Deployment/graminsta-web', 'StatefulSet/graminsta-origin']) {
      expect(templateLabels(objects.get(id)!), id).to.have.property(VERSION_LABEL, '9');
    }
    const jobs = [...objects.keys()].filter((k) => k.startsWith('Job/'));
    expect(jobs).to.have.length(2);
    for (const id of ['StatefulSet/graminsta-db', 'StatefulSet/graminsta-db-replica', 'StatefulSet/graminsta-redis', ...jobs]) {
      expect(templateLabels(objects.get(id)!), id).to.not.have.property(VERSION_LABEL);
    }
    expect(templateLabels(byId(render(app({ users: 1 }), ctx(), withService('r/svc:9'))).get('StatefulSet/graminsta-db')!)).to.have.property(VERSION_LABEL, '9');
  });

  it('a new service version leaves every selector, and the Postgres and Redis pods, as they were', () => {
    for (const users of [1, 10, 1000, 100000]) {
      const before = byId(render(app({ users }), ctx(), withService('r/svc:1.0.0')));
      const after = byId(render(app({ users }), ctx(), withService(`r/svc:2.0.0@${digest}`)));
      expect([...after.keys()].filter((k) => !k.startsWith('Job/'))).to.deep.equal([...before.keys()].filter((k) => !k.startsWith('Job/')));
      for (const [id, o] of after) {
        if (id.startsWith('Job/')) continue; // named after the image: a new one
        expect(selectors(o), id).to.deep.equal(selectors(before.get(id)!));
        for (const s of selectors(o)) expect(JSON.stringify(s), id).to.not.include(VERSION_LABEL);
      }
      for (const id of ['StatefulSet/graminsta-db-replica', 'StatefulSet/graminsta-redis', ...(users > 1 ? ['StatefulSet/graminsta-db'] : [])]) {
        if (!after.has(id)) continue;
        expect((after.get(id) as V1StatefulSet).spec!.template, id).to.deep.equal((before.get(id) as V1StatefulSet).spec!.template);
      }
    }
  });
});
