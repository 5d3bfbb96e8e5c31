// The journey's burst, in a process of its own (`tsx test/support/burst-load.ts URL HOST CONNECTIONS SECONDS`):
// CONNECTIONS closed-loop clients GET URL with Host HOST on keep-alive sockets for SECONDS, then print one
// JSON line {requests, non2xx, errors, resentOnReusedSocket, statuses, failures}. It counts like the
// journey's load generator (journey-load.ts): an idempotent request whose reused socket was reset before
// any response is sent once more and counted apart — the ingress reloads as endpoints change and closes
// idle keep-alive connections, a race every HTTP client meets and browsers absorb this way — and anything
// else (a refused or reset fresh connection, a timeout, a status other than 2xx) is a failure.
import http from 'node:http';
import { httpRequestResending } from './http-request.js';

async function main(): Promise<void> {
  const [url, host, connections, seconds] = process.argv.slice(2);
  const target = new URL(url!);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number(connections) });
  const deadline = Date.now() + Number(seconds) * 1000;
  const out = { requests: 0, non2xx: 0, errors: 0, resentOnReusedSocket: 0, statuses: {} as Record<string, number>, failures: [] as { t: number; error: string }[] };
  const client = async () => {
    while (Date.now() < deadline) {
      const t = Date.now();
      out.requests++;
      try {
        const res = await httpRequestResending(target.origin, 'GET', target.pathname + target.search, { host, agent }, () => out.resentOnReusedSocket++);
        out.statuses[res.status] = (out.statuses[res.status] ?? 0) + 1;
        if (res.status < 200 || res.status > 299) {
          out.non2xx++;
          if (out.failures.length < 20) out.failures.push({ t, error: `status ${res.status}: ${res.body.toString().slice(0, 200)}` });
        }
      } catch (err) {
        out.errors++;
        if (out.failures.length < 20) out.failures.push({ t, error: `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`.trim() });
      }
    }
  };
  await Promise.all(Array.from({ length: Number(connections) }, client));
  agent.destroy();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`burst-load: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
