// The login flood's load generator, a process of its own: `connections` clients log in back to back for `seconds`,
// then it prints the status counts as one JSON line.
// Run by bench/login-flood.bench.ts: npx tsx bench/service/login-flood.worker.ts <url> <username> <password> <connections> <seconds>
import http from 'node:http';

const [url, username, password, connectionsRaw, secondsRaw] = process.argv.slice(2);
const connections = Number(connectionsRaw);
const deadline = Date.now() + Number(secondsRaw) * 1000;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const body = JSON.stringify({ username, password });
const statuses: Record<string, number> = {};

function login(): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(`${url}/api/v1/sessions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

await Promise.all(
  Array.from({ length: connections }, async () => {
    while (Date.now() < deadline) {
      const s = await login();
      statuses[s] = (statuses[s] ?? 0) + 1;
    }
  }),
);
agent.destroy();
console.log(JSON.stringify({ statuses }));
