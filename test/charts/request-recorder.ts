// A recording reverse proxy in front of the API server: every request a client makes through it
// (watches included) is logged with its method, path and response status, and mapped to an RBAC
// (group/resource verb) permission.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';

/** One request seen by the proxy. */
export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  /** The "group/resource verb" permissions (core group as "core") the authorizer checked; empty for discovery and other non-resource URLs. */
  permissions: string[];
}

/** A running recorder; `server` is the URL to put in a kubeconfig instead of the API server's. */
export interface RequestRecorder {
  server: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** The permissions a request needed: its own, plus create for a server-side apply that created the object (201). */
export function permissionsOf(method: string, path: string, status: number): string[] {
  const own = permissionOf(method, path);
  if (!own) return [];
  return method.toUpperCase() === 'PATCH' && status === 201 ? [own, own.replace(/ patch$/, ' create')] : [own];
}

/** Maps an API request to the RBAC permission the authorizer checks for it. */
export function permissionOf(method: string, rawPath: string): string | undefined {
  const url = new URL(rawPath, 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = 'core';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  if (rest.length === 0) return undefined; // discovery of a group version
  const [resource, name, sub] = rest;
  const full = sub ? `${resource}/${sub}` : resource!;
  const m = method.toUpperCase();
  let verb: string;
  if (m === 'GET' || m === 'HEAD') verb = name ? 'get' : url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1' ? 'watch' : 'list';
  else if (m === 'POST') verb = 'create';
  else if (m === 'PUT') verb = 'update';
  else if (m === 'PATCH') verb = 'patch';
  else if (m === 'DELETE') verb = name ? 'delete' : 'deletecollection';
  else verb = m.toLowerCase();
  return `${group}/${full} ${verb}`;
}

/** Starts the proxy on 127.0.0.1 towards the current cluster of `upstream` (its CA is trusted; the client's own Authorization header is passed on). */
export async function startRequestRecorder(upstream: KubeConfig): Promise<RequestRecorder> {
  const cluster = upstream.getCurrentCluster();
  if (!cluster) throw new Error('startRequestRecorder: the upstream kubeconfig has no current cluster');
  const target = new URL(cluster.server);
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : cluster.caFile ? readFileSync(cluster.caFile) : undefined;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const path = req.url ?? '/';
    const headers = { ...req.headers, host: target.host };
    const upstreamReq = httpsRequest(
      { hostname: target.hostname, port: target.port || 443, path, method: req.method, headers, ca, rejectUnauthorized: !cluster.skipTLSVerify },
      (upstreamRes) => {
        const status = upstreamRes.statusCode ?? 0;
        requests.push({ method: req.method ?? 'GET', path, status, permissions: permissionsOf(req.method ?? 'GET', path, status) });
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        res.flushHeaders(); // a watch sends its headers long before its first event
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', (err) => {
      requests.push({ method: req.method ?? 'GET', path, status: 502, permissions: [] });
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    res.on('close', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
