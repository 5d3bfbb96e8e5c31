// The bench's limit: a bare Koa app answering a profile-sized JSON body, in its own process (PORT from the environment).
import Koa from 'koa';
import http from 'node:http';

const app = new Koa();
const body = { user: { id: 1, username: 'bench', displayName: 'bench', bio: '', followers: 0, following: 0, photos: 0, createdAt: new Date(0).toISOString() } };
app.use((ctx) => {
  ctx.body = body;
});
const server = http.createServer(app.callback());
server.keepAliveTimeout = 65000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
