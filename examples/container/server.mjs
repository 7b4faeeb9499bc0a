// The container example's server: naught/worker's protocol, listening on HOST (0.0.0.0 in
// the image, so that the container's port reaches it; 127.0.0.1 elsewhere).
import http from 'node:http';
import { online, onShutdown } from 'naught/worker';

const server = http.createServer((req, res) => res.end(`hello from worker ${process.env.NAUGHT_WORKER} (pid ${process.pid})\n`));
server.listen(Number(process.env.PORT ?? 8000), process.env.HOST ?? '127.0.0.1', () => {
  console.log(`worker ${process.env.NAUGHT_WORKER} listening on ${process.env.HOST ?? '127.0.0.1'}:${process.env.PORT ?? 8000}`);
});
online(server);
onShutdown(server, { timeoutMs: 20_000 });
