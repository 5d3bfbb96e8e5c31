import { expect } from 'chai';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { ensureCa, ensureServerCertificate, nextRenewalAt, CERTIFICATE_POLICY } from '../../../operator/reconcile/certificates.reconcile.js';
import { app, plan } from '../render/helpers.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 1);
const tls = plan(app({ users: 100000 })).databaseTls!;

describe('database certificates', () => {
  it('issues a CA (its key only in the CA data) and a server certificate it signs, naming every Service, for 90 days', async () => {
    const ca = await ensureCa('graminsta-db-ca', undefined, T0);
    expect(ca.issued).to.equal('no CA yet');
    const caCert = new NodeX509(ca.data['ca.crt']!);
    expect(caCert.ca).to.equal(true);
    expect(caCert.subject).to.include('CN=graminsta-db-ca');
    const server = await ensureServerCertificate(tls, ca.data, undefined, T0);
    expect(Object.keys(server.data).sort()).to.deep.equal(['ca.crt', 'tls.crt', 'tls.key']);
    expect(server.data['ca.crt']).to.equal(ca.data['ca.crt']);
    const cert = new NodeX509(server.data['tls.crt']!);
    expect(cert.ca).to.equal(false);
    expect(cert.verify(caCert.publicKey)).to.equal(true);
    expect(cert.checkHost('graminsta-db-rw.photos.svc')).to.equal('graminsta-db-rw.photos.svc');
    expect(cert.checkHost('graminsta-db-ro.photos.svc.cluster.local')).to.equal('graminsta-db-ro.photos.svc.cluster.local');
    expect(cert.checkHost('graminsta-db-replica-1.graminsta-db-replica-headless.photos.svc')).to.be.a('string');
    expect(cert.checkIP('127.0.0.1')).to.equal('127.0.0.1');
    expect(cert.checkHost('graminsta-db-rw.other.svc')).to.equal(undefined);
    expect(cert.checkIP('10.0.0.1')).to.equal(undefined);
    expect(new Date(cert.validTo).getTime() - T0).to.be.closeTo(90 * DAY, 1000);
    expect(cert.keyUsage).to.include('1.3.6.1.5.5.7.3.1'); // serverAuth
  });

  it('keeps sound certificates and renews the server one 30 days before its end, the CA 90 days before with the same key', async () => {
    const ca = await ensureCa('graminsta-db-ca', undefined, T0);
    const server = await ensureServerCertificate(tls, ca.data, undefined, T0);
    const later = T0 + 59 * DAY;
    expect(await ensureCa('graminsta-db-ca', ca.data, later)).to.deep.equal({ data: ca.data });
    expect(await ensureServerCertificate(tls, ca.data, server.data, later)).to.deep.equal({ data: server.data });
    expect(nextRenewalAt(ca.data, server.data)).to.be.closeTo(T0 + 60 * DAY, 5 * 60_000 + 1000);

    const due = T0 + 61 * DAY;
    const renewed = await ensureServerCertificate(tls, ca.data, server.data, due);
    expect(renewed.issued).to.match(/^the server certificate expires at /);
    expect(renewed.data['tls.key']).not.to.equal(server.data['tls.key']);

    const caDue = T0 + CERTIFICATE_POLICY.caValidityMs - CERTIFICATE_POLICY.caRenewBeforeMs + DAY;
    const renewedCa = await ensureCa('graminsta-db-ca', ca.data, caDue);
    expect(renewedCa.issued).to.match(/^the CA certificate expires at /);
    expect(renewedCa.data['ca.key']).to.equal(ca.data['ca.key']);
    // What the old CA certificate signed verifies with the new one, and the reverse: same key, same name.
    const oldCa = new NodeX509(ca.data['ca.crt']!);
    const newCa = new NodeX509(renewedCa.data['ca.crt']!);
    expect(newCa.subject).to.equal(oldCa.subject);
    expect(new NodeX509(server.data['tls.crt']!).verify(newCa.publicKey)).to.equal(true);
    // Issued under the old CA certificate, capped at its end (89 days away): still sound but for the CA certificate it carries.
    const current = await ensureServerCertificate(tls, ca.data, undefined, caDue);
    expect(new Date(new NodeX509(current.data['tls.crt']!).validTo).getTime()).to.equal(new Date(oldCa.validTo).getTime());
    const reissued = await ensureServerCertificate(tls, renewedCa.data, current.data, caDue);
    expect(reissued.issued).to.equal('the CA certificate changed');
    expect(new NodeX509(reissued.data['tls.crt']!).verify(oldCa.publicKey)).to.equal(true);
  });

  it('re-issues a server certificate that lacks a name, is signed by another CA or whose key does not match', async () => {
    const ca = await ensureCa('graminsta-db-ca', undefined, T0);
    const server = await ensureServerCertificate(tls, ca.data, undefined, T0);
    const renamed = { ...tls, dnsNames: [...tls.dnsNames, 'extra.photos.svc'] };
    expect((await ensureServerCertificate(renamed, ca.data, server.data, T0)).issued).to.equal('the server certificate does not name every Service of the database');
    const other = await ensureCa('graminsta-db-ca', undefined, T0);
    expect((await ensureServerCertificate(tls, other.data, server.data, T0)).issued).to.equal('the server certificate is not signed by the CA');
    const otherServer = await ensureServerCertificate(tls, ca.data, undefined, T0);
    expect((await ensureServerCertificate(tls, ca.data, { ...server.data, 'tls.key': otherServer.data['tls.key']! }, T0)).issued).to.equal('the server key does not match its certificate');
    expect((await ensureCa('graminsta-db-ca', { 'ca.crt': 'garbage', 'ca.key': 'garbage' }, T0)).issued).to.equal('the CA certificate or key could not be read or do not match');
  });
});
