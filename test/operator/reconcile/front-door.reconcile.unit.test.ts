// Make before break between an Ingress and HTTPRoutes: the old front door stays until the new one can take traffic.
import { expect } from 'chai';
import type { GatewayParentRef } from '../../../operator/render/gateway.render.js';
import { frontDoorToKeep, SWITCH_SETTLE_MS } from '../../../operator/reconcile/transition.reconcile.js';

const parent: GatewayParentRef = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'infra', sectionName: 'http' };
const NOW = Date.parse('2026-12-03T08:00:00Z');
const ingress = (createdMsAgo: number, address?: { ip?: string; hostname?: string }) => ({
  kind: 'Ingress' as const,
  name: 'g',
  live: { metadata: { name: 'g', creationTimestamp: new Date(NOW - createdMsAgo) }, status: { loadBalancer: { ingress: address ? [address] : [] } } },
});

describe('transition.reconcile: frontDoorToKeep', () => {
  it('keeps the Ingress while the HTTPRoutes replacing it are not accepted, and lets it go once they are', () => {
    const to = { kind: 'HTTPRoute' as const, parent, served: true, routes: [{ name: 'g' }] };
    expect(frontDoorToKeep(to, false, NOW)).to.deep.include({ kind: 'Ingress' });
    expect(frontDoorToKeep(to, false, NOW)!.waiting).to.match(/until the HTTPRoutes are accepted by Gateway infra\/public/);
    expect(frontDoorToKeep(to, false, NOW)!.requeueAfterMs, 'the routes\' status changes wake the app').to.equal(undefined);
    expect(frontDoorToKeep(to, true, NOW)).to.equal(null);
  });

  it('keeps the HTTPRoutes until the Ingress replacing them is published, or has existed the settle time', () => {
    expect(frontDoorToKeep({ kind: 'Ingress', name: 'g' }, false, NOW)).to.deep.include({ kind: 'HTTPRoute', requeueAfterMs: SWITCH_SETTLE_MS });
    const young = frontDoorToKeep(ingress(5_000), true, NOW);
    expect(young).to.deep.include({ kind: 'HTTPRoute', requeueAfterMs: SWITCH_SETTLE_MS - 5_000 });
    expect(young!.waiting).to.match(/until Ingress g is published or has existed 15 s/);
    expect(frontDoorToKeep(ingress(5_000, { ip: '198.19.255.1' }), true, NOW)).to.equal(null);
    expect(frontDoorToKeep(ingress(5_000, { hostname: 'lb.example.test' }), true, NOW)).to.equal(null);
    expect(frontDoorToKeep(ingress(SWITCH_SETTLE_MS), true, NOW)).to.equal(null);
    // Nearly there: look again in a second, not in a busy loop.
    expect(frontDoorToKeep(ingress(SWITCH_SETTLE_MS - 10), true, NOW)!.requeueAfterMs).to.equal(1_000);
  });

  it('keeps nothing without an ingress tier', () => {
    expect(frontDoorToKeep({ kind: 'none' }, true, NOW)).to.equal(null);
  });
});
