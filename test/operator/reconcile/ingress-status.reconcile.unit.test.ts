import { expect } from 'chai';
import type { GatewayParentRef } from '../../../operator/render/gateway.render.js';
import { ingressState, type ObservedRoute } from '../../../operator/reconcile/ingress-status.reconcile.js';

const parent: GatewayParentRef = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'infra', sectionName: 'http' };

function route(name: string, parents: NonNullable<ObservedRoute['status']>['parents'], generation = 1): ObservedRoute {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace: 'photos', generation }, status: { parents } };
}
const cond = (type: string, status: 'True' | 'False', reason: string, message = '', observedGeneration = 1) => ({ type, status, reason, message, observedGeneration });
const ours = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'infra', sectionName: 'http' };
const good = [{ parentRef: ours, controllerName: 'x', conditions: [cond('Accepted', 'True', 'Accepted'), cond('ResolvedRefs', 'True', 'ResolvedRefs')] }];
const obs = (...routes: { name: string; live?: ObservedRoute }[]) => ({ kind: 'HTTPRoute' as const, parent, served: true, routes });

describe('ingress-status.reconcile', () => {
  it('is not required without an ingress tier', () => {
    expect(ingressState({ kind: 'none' }, 'split-clients')).to.include({ status: 'True', reason: 'NotRequired' });
  });

  it('an Ingress is ready once it exists, with the address its controller published', () => {
    expect(ingressState({ kind: 'Ingress', name: 'g' }, 'load-balanced')).to.include({ status: 'False', reason: 'NotCreated' });
    const live = { metadata: { name: 'g' }, status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } } };
    expect(ingressState({ kind: 'Ingress', name: 'g', live }, 'load-balanced')).to.deep.equal({ status: 'True', reason: 'IngressCreated', message: 'Ingress g is applied, published at 10.0.0.1' });
  });

  it('names the missing Gateway API when the cluster does not serve HTTPRoutes', () => {
    const s = ingressState({ ...obs(), served: false }, 'load-balanced');
    expect(s).to.include({ status: 'False', reason: 'GatewayAPINotServed' });
    expect(s.message).to.match(/spec\.ingress\.gatewayRef.*HTTPRoute \(gateway\.networking\.k8s\.io\/v1\).*Gateway API CRDs/);
  });

  it('is ready when every route is Accepted with ResolvedRefs by our parent', () => {
    const s = ingressState(obs({ name: 'g-api', live: route('g-api', good) }, { name: 'g', live: route('g', good) }), 'load-balanced');
    expect(s).to.deep.equal({ status: 'True', reason: 'Accepted', message: 'HTTPRoute(s) g-api, g accepted by Gateway infra/public (listener http), backends resolved' });
  });

  it('waits for a route not created yet, and for a controller that has not written our parent entry', () => {
    expect(ingressState(obs({ name: 'g' }), 'cdn')).to.include({ status: 'False', reason: 'NotCreated' });
    // Another Gateway's (or listener's) entry is not ours.
    const other = [{ ...good[0]!, parentRef: { ...ours, sectionName: 'https' } }];
    const s = ingressState(obs({ name: 'g', live: route('g', other) }), 'cdn');
    expect(s).to.include({ status: 'False', reason: 'WaitingForGateway' });
    expect(s.message).to.match(/HTTPRoute g: the controller of Gateway infra\/public \(listener http\) has not reported/);
  });

  it('takes the reason and message of Accepted=False or ResolvedRefs=False, naming the route', () => {
    const refused = [{ parentRef: ours, conditions: [cond('Accepted', 'False', 'NotAllowedByListeners', 'namespace photos is not allowed'), cond('ResolvedRefs', 'True', 'ResolvedRefs')] }];
    expect(ingressState(obs({ name: 'g', live: route('g', refused) }), 'cdn')).to.deep.equal({
      status: 'False',
      reason: 'NotAllowedByListeners',
      message: 'HTTPRoute g: Accepted=False (NotAllowedByListeners) from Gateway infra/public (listener http): namespace photos is not allowed',
    });
    const unresolved = [{ parentRef: ours, conditions: [cond('Accepted', 'True', 'Accepted'), cond('ResolvedRefs', 'False', 'BackendNotFound', 'service graminsta-web not found')] }];
    expect(ingressState(obs({ name: 'g', live: route('g', unresolved) }), 'cdn')).to.include({ status: 'False', reason: 'BackendNotFound' });
  });

  it('does not trust conditions of an older generation of the route', () => {
    const stale = [{ parentRef: ours, conditions: [cond('Accepted', 'True', 'Accepted', '', 1), cond('ResolvedRefs', 'True', 'ResolvedRefs', '', 1)] }];
    expect(ingressState(obs({ name: 'g', live: route('g', stale, 2) }), 'cdn')).to.include({ status: 'False', reason: 'WaitingForGateway' });
  });

  it('matches a parent entry whose defaults (group, kind, namespace) are left out', () => {
    const sameNs: GatewayParentRef = { ...parent, namespace: 'photos' };
    const entry = [{ parentRef: { name: 'public', sectionName: 'http' }, conditions: good[0]!.conditions }];
    expect(ingressState({ kind: 'HTTPRoute', parent: sameNs, served: true, routes: [{ name: 'g', live: route('g', entry) }] }, 'cdn')).to.include({ status: 'True' });
  });
});
