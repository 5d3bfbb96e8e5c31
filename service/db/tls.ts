// TLS of the connections to Postgres, as libpq's sslmode means it: disable, require (encrypted, the server unchecked),
// verify-ca (its certificate chains to a trusted CA) and verify-full (and names the host connected to).
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/** The sslmode values the service supports. */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;

/** One of SSL_MODES. */
export type SslMode = (typeof SSL_MODES)[number];

/** How the service connects to Postgres: the sslmode and the CA file (PEM) it verifies with; '' for Node's default CAs. */
export interface DatabaseTls {
  mode: SslMode;
  rootCertPath: string;
}

/** No TLS: what tests against a local Postgres without certificates use. */
export const NO_TLS: DatabaseTls = { mode: 'disable', rootCertPath: '' };

/**
 * pg's `ssl` option for `tls`, or undefined for disable. pg copies the option's properties into tls.connect for every
 * new connection and sets the server name to the host (its IP address for an IP, which the certificate must name);
 * `ca` is a getter that reads the file then, so a renewed CA (the kubelet updates a mounted Secret in place) applies
 * without a restart. A file that cannot be read at that moment keeps the last content read.
 */
export function pgSsl(tls: DatabaseTls, readFile: (path: string) => string = (path) => readFileSync(path, 'utf8')): ConnectionOptions | undefined {
  if (tls.mode === 'disable') return undefined;
  if (tls.mode === 'require') return { rejectUnauthorized: false };
  let last: string | undefined;
  const options: ConnectionOptions = { rejectUnauthorized: true };
  if (tls.rootCertPath) {
    Object.defineProperty(options, 'ca', {
      enumerable: true,
      get: () => {
        try {
          last = readFile(tls.rootCertPath);
        } catch {
          // keep the last content: an update in progress, a reader racing the kubelet's swap
        }
        return last;
      },
    });
  }
  // verify-ca: the chain is checked, the name is not.
  if (tls.mode === 'verify-ca') options.checkServerIdentity = () => undefined;
  return options;
}
