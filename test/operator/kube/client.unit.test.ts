import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { WriteFence, createKubeClients, withRequestSignal } from '../../../operator/kube/client.kube.js';
import { waitFor } from '../../support/local-process.js';

use(chaiAsPromised);

// An API server that has hung: it reads every request and never answers, except Lease requests (200 {}).
class HungServer {
  requests: Array<{ method: string; url: string; userAgent?: string; closed: boolean }> = [];
  private server: Server = createServer((req: IncomingMessage, res) => {
    const entry = { method: req.method!, url: req.url!, userAgent: req.headers['user-agent'], closed: false };
    this.requests.push(entry);
    req.resume();
    res.on('close', () => (entry.closed = true));
    if (req.url!.includes('/leases')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    }
  });
  port = 0;
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
  kubeconfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  }
}

const configMap = (name: string) => ({ namespace: 'ns', body: { metadata: { name } } });

describe('kube clients: deadlines and the write fence (a real server that never answers)', () => {
  let server: HungServer;
  beforeEach(async () => {
    server = new HungServer();
    await server.start();
  });
  afterEach(() => server.stop());

  it('aborts a request that gets no answer within requestTimeoutMs', async () => {
    const clients = createKubeClients(server.kubeconfig(), { requestTimeoutMs: 300 });
    const started = Date.now();
    await expect(clients.core.readNamespace({ name: 'x' })).to.be.rejected;
    expect(Date.now() - started).to.be.lessThan(5_000);
    await waitFor('the server to see the connection close', () => server.requests[0]?.closed === true, 5_000);
  });

  it('aborts the requests of a call when the signal given to withRequestSignal aborts', async () => {
    const clients = createKubeClients(server.kubeconfig());
    const abort = new AbortController();
    const call = withRequestSignal(abort.signal, () => clients.core.readNamespace({ name: 'x' }));
    await waitFor('the request to arrive', () => server.requests.length === 1, 5_000);
    abort.abort(new Error('deadline'));
    await expect(call).to.be.rejected;
    await waitFor('the server to see the connection close', () => server.requests[0]?.closed === true, 5_000);
  });

  it('refuses writes while the fence is closed and aborts those in flight when it closes; Lease writes and reads pass', async () => {
    const fence = new WriteFence();
    const clients = createKubeClients(server.kubeconfig(), { fence, userAgent: 'graminsta-operator/a' });
    await expect(clients.core.createNamespacedConfigMap(configMap('early'))).to.be.rejectedWith(/refused POST .*configmaps.*does not lead/);
    expect(server.requests, 'a refused write never reaches the server').to.deep.equal([]);

    await clients.coordination.replaceNamespacedLease({ name: 'l', namespace: 'ns', body: { metadata: { name: 'l' } } });
    fence.open();
    const write = clients.core.createNamespacedConfigMap(configMap('inflight'));
    const read = clients.core.readNamespace({ name: 'x' });
    await waitFor('both requests to arrive', () => server.requests.length === 3, 5_000);
    fence.close();
    await expect(write).to.be.rejectedWith(/aborted/);
    await waitFor('the write’s connection to close', () => server.requests[1]?.closed === true, 5_000);
    expect(server.requests[2]?.closed, 'a read is not fenced').to.equal(false);
    expect(server.requests.map((r) => r.userAgent)).to.deep.equal(Array(3).fill('graminsta-operator/a'));
    void read.catch(() => undefined);
  });
});
