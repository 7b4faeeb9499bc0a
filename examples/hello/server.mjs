// The example server naught runs in `npm run example`: a hello-world HTTP server that
// follows the worker protocol and drains cleanly on 'shutdown'.
import http from 'node:http';

const port = Number(process.env.PORT ?? 8000);
let draining = false;

const server = http.createServer((req, res) => {
  if (draining) res.setHeader('Connection', 'close');
  res.end(`hello from worker ${process.env.NAUGHT_WORKER} (pid ${process.pid})\n`);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`worker ${process.env.NAUGHT_WORKER} listening on http://127.0.0.1:${port}`);
  process.send?.('online');
});

process.on('message', (message) => {
  if (message !== 'shutdown') return;
  draining = true;
  // Give idle keep-alive connections a moment to send their next request (answered with
  // Connection: close) instead of cutting them under it, then close what is left.
  const closeIdle = server.closeIdleConnections.bind(server);
  server.closeIdleConnections = () => {};
  server.close(() => process.exit(0));
  setTimeout(closeIdle, 1000).unref();
});

process.on('uncaughtException', (error) => {
  console.error(error);
  process.send?.('offline');
  server.close(() => process.exit(1));
  setTimeout(() => process.exit(1), 5000).unref();
});
