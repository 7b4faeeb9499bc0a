// The example server naught runs in `npm run example`: a hello-world HTTP server that
// follows the worker protocol through naught/worker, which drains it cleanly on 'shutdown'.
import http from 'node:http';
import { offline, online, onShutdown } from 'naught/worker';

const port = Number(process.env.PORT ?? 8000);
const server = http.createServer((req, res) => {
  res.end(`hello from worker ${process.env.NAUGHT_WORKER} (pid ${process.pid})\n`);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`worker ${process.env.NAUGHT_WORKER} listening on http://127.0.0.1:${port}`);
});
online(server);
onShutdown(server, { timeoutMs: 30_000 });

process.on('uncaughtException', (error) => {
  console.error(error);
  offline();
  server.close(() => process.exit(1));
  setTimeout(() => process.exit(1), 5000).unref();
});
