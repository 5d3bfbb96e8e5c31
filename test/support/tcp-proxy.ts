// A TCP proxy on 127.0.0.1 that can stall a client's traffic to the upstream as a network partition
// would: bytes sent while stalled are held, delivered on resume, and dropped when the client closes the
// connection first (a reset connection's unsent data never arrives).
import net from 'node:net';

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  /** Client bytes held while this link is stalled. */
  held: Buffer[];
  stalled: boolean;
}

/** A proxy from a local port to upstream host:port. */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly links = new Set<Link>();
  private stallNew = false;
  port = 0;
  /** How many connections were accepted so far. */
  accepted = 0;

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Listens on a free port of 127.0.0.1. */
  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /**
   * Holds what clients send from now on, on open connections and on new ones (which are accepted but
   * not answered); what the upstream sends still flows. With existingOnly, new connections pass.
   */
  stall(opts: { existingOnly?: boolean } = {}): void {
    this.stallNew = !opts.existingOnly;
    for (const link of this.links) link.stalled = true;
  }

  /** Delivers the held bytes and lets traffic flow again. */
  resume(): void {
    this.stallNew = false;
    for (const link of this.links) {
      link.stalled = false;
      for (const chunk of link.held.splice(0)) link.upstream.write(chunk);
    }
  }

  /** Whether some client bytes are held. */
  holding(): boolean {
    return [...this.links].some((l) => l.held.length > 0);
  }

  async stop(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy();
      link.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const upstream = net.connect(this.upstreamPort, this.upstreamHost);
    const link: Link = { client, upstream, held: [], stalled: this.stallNew };
    this.links.add(link);
    const close = (): void => {
      if (!this.links.delete(link)) return;
      link.held.length = 0;
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (link.stalled) link.held.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  }
}
