// The in-cluster database's certificates: a CA per app and a server certificate it signs, issued when missing and
// renewed well before they expire (as CloudNativePG does). ECDSA P-256 keys, made with WebCrypto (@peculiar/x509).
import 'reflect-metadata';
import { createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DB_CA_KEYS, DB_TLS_KEYS } from '../render/constants.render.js';
import type { DatabaseTlsPlan } from '../render/plan.render.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const DAY_MS = 86_400_000;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Lifetimes and renewal margins: the CA lives a year and is renewed 90 days before it ends; a server certificate 90 days, renewed with 30 left. */
export const CERTIFICATE_POLICY = {
  caValidityMs: 365 * DAY_MS,
  caRenewBeforeMs: 90 * DAY_MS,
  serverValidityMs: 90 * DAY_MS,
  serverRenewBeforeMs: 30 * DAY_MS,
  /** notBefore lies this far in the past, for clocks a little behind the operator's. */
  backdateMs: 5 * 60_000,
} as const;

/** The policy's type, so tests can pass short lifetimes. */
export type CertificatePolicy = { [K in keyof typeof CERTIFICATE_POLICY]: number };

/** Data of the CA Secret (ca.crt, ca.key) or of the server Secret (tls.crt, tls.key, ca.crt), PEM. */
export type PemData = Record<string, string>;

/** What became of a certificate: kept as it was, or issued anew and why. */
export interface CertificateOutcome {
  data: PemData;
  /** Why it was (re)issued; undefined when kept. */
  issued?: string;
}

function pemKey(pkcs8: ArrayBuffer): string {
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

function serial(): string {
  // Positive 128-bit serial numbers (the top bit clear), as RFC 5280 asks.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

async function importKey(pem: string): Promise<CryptoKey> {
  return (await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), ALGORITHM, true, ['sign'])) as CryptoKey;
}

function parse(pem: string | undefined): x509.X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new x509.X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** True when the private key in `keyPem` belongs to the certificate. */
function keyMatches(cert: x509.X509Certificate, keyPem: string): boolean {
  try {
    const fromKey = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    return Buffer.from(cert.publicKey.rawData).equals(fromKey);
  } catch {
    return false;
  }
}

async function caCertificate(name: string, keys: CryptoKeyPair, now: number, policy: CertificatePolicy): Promise<x509.X509Certificate> {
  return await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    // The same name and key at every renewal: certificates it signed verify against the old and the new CA certificate.
    name: `CN=${name},O=graminsta`,
    notBefore: new Date(now - policy.backdateMs),
    notAfter: new Date(now + policy.caValidityMs),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

/**
 * The CA of an app's database: `current` kept while it is sound and more than caRenewBeforeMs from its end; renewed
 * with the same key and name when it gets there (what it signed stays valid, clients need not change what they trust
 * at once); a new CA when there is none or it cannot be read. The key lives in the CA Secret only, which no pod mounts:
 * the operator needs it to sign each renewal of the server certificate.
 */
export async function ensureCa(name: string, current: PemData | undefined, now: number, policy: CertificatePolicy = CERTIFICATE_POLICY): Promise<CertificateOutcome> {
  const cert = parse(current?.[DB_CA_KEYS.cert]);
  const keyPem = current?.[DB_CA_KEYS.key];
  let reason: string;
  if (!cert || !keyPem || !keyMatches(cert, keyPem)) {
    reason = current ? 'the CA certificate or key could not be read or do not match' : 'no CA yet';
  } else if (cert.notAfter.getTime() - now <= policy.caRenewBeforeMs) {
    reason = `the CA certificate expires at ${cert.notAfter.toISOString()}`;
    const privateKey = await importKey(keyPem);
    const publicKey = await cert.publicKey.export(ALGORITHM, ['verify']);
    const renewed = await caCertificate(name, { privateKey, publicKey }, now, policy);
    return { data: { [DB_CA_KEYS.cert]: renewed.toString('pem'), [DB_CA_KEYS.key]: keyPem }, issued: reason };
  } else {
    return { data: { [DB_CA_KEYS.cert]: current![DB_CA_KEYS.cert]!, [DB_CA_KEYS.key]: keyPem } };
  }
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const fresh = await caCertificate(name, keys, now, policy);
  return { data: { [DB_CA_KEYS.cert]: fresh.toString('pem'), [DB_CA_KEYS.key]: pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) }, issued: reason };
}

/** The DNS names and IP addresses of a certificate's subjectAltName, sorted. */
function altNames(cert: x509.X509Certificate): string[] {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return (ext?.names.items ?? []).map((n) => `${n.type}:${n.value}`).sort();
}

function wantedAltNames(tls: DatabaseTlsPlan): string[] {
  return [...tls.dnsNames.map((d) => `dns:${d}`), ...tls.ipAddresses.map((ip) => `ip:${ip}`)].sort();
}

/** Why the server certificate in `current` must be issued anew for `ca`, or undefined when it can stay. */
async function serverProblem(tls: DatabaseTlsPlan, ca: x509.X509Certificate, caPem: string, current: PemData | undefined, now: number, policy: CertificatePolicy): Promise<string | undefined> {
  const cert = parse(current?.[DB_TLS_KEYS.cert]);
  const keyPem = current?.[DB_TLS_KEYS.key];
  if (!cert || !keyPem) return current ? 'the server certificate or key could not be read' : 'no server certificate yet';
  if (!keyMatches(cert, keyPem)) return 'the server key does not match its certificate';
  if (!(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }))) return 'the server certificate is not signed by the CA';
  if (altNames(cert).join(',') !== wantedAltNames(tls).join(',')) return 'the server certificate does not name every Service of the database';
  if (cert.notAfter.getTime() - now <= policy.serverRenewBeforeMs) return `the server certificate expires at ${cert.notAfter.toISOString()}`;
  if (current?.[DB_TLS_KEYS.ca] !== caPem) return 'the CA certificate changed';
  return undefined;
}

/**
 * The server certificate of the database, signed by `caData`: `current` kept while it is sound, signed by that CA,
 * names every name in `tls`, and is more than serverRenewBeforeMs from its end; otherwise a new key and certificate.
 * Its Secret also carries the CA certificate, the one file clients verify the server with.
 */
export async function ensureServerCertificate(tls: DatabaseTlsPlan, caData: PemData, current: PemData | undefined, now: number, policy: CertificatePolicy = CERTIFICATE_POLICY): Promise<CertificateOutcome> {
  const caPem = caData[DB_CA_KEYS.cert]!;
  const ca = new x509.X509Certificate(caPem);
  const problem = await serverProblem(tls, ca, caPem, current, now, policy);
  if (!problem) return { data: { ...current! } };
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${tls.dnsNames[0]}`,
    issuer: ca.subject,
    notBefore: new Date(now - policy.backdateMs),
    // Never past the CA certificate's end.
    notAfter: new Date(Math.min(now + policy.serverValidityMs, ca.notAfter.getTime())),
    publicKey: keys.publicKey,
    signingKey: await importKey(caData[DB_CA_KEYS.key]!),
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...tls.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...tls.ipAddresses.map((value) => ({ type: 'ip' as const, value }))]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return {
    data: { [DB_TLS_KEYS.cert]: cert.toString('pem'), [DB_TLS_KEYS.key]: pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), [DB_TLS_KEYS.ca]: caPem },
    issued: problem,
  };
}

/** When the reconciler must look again: the earlier of the CA's and the server certificate's renewal times. */
export function nextRenewalAt(caData: PemData, serverData: PemData, policy: CertificatePolicy = CERTIFICATE_POLICY): number {
  const ca = new x509.X509Certificate(caData[DB_CA_KEYS.cert]!);
  const server = new x509.X509Certificate(serverData[DB_TLS_KEYS.cert]!);
  return Math.min(ca.notAfter.getTime() - policy.caRenewBeforeMs, server.notAfter.getTime() - policy.serverRenewBeforeMs);
}
