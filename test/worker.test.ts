// naught/worker in this process: a real server on 127.0.0.1, real sockets, and naught's
// 'shutdown' message emitted on process as the IPC channel would.
import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import { offline, online, onShutdown } from '../src/worker.js';

const RECENT_MS = 400;

/** A raw keep-alive client: one socket, requests written by hand, responses read whole. */
function client(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  const waiting: ((response: string) => void)[] = [];
  socket.on('data', (d: Buffer) => {
    buffer += d;
    const end = buffer.indexOf('\n', buffer.indexOf('\r\n\r\n') + 4);
    if (buffer.includes('\r\n\r\n') && end !== -1) {
      const response = buffer.slice(0, end + 1);
      buffer = buffer.slice(end + 1);
      waiting.shift()?.(response);
    }
  });
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  socket.on('error', () => {});
  return {
    closed,
    get(path: string): Promise<string> {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

async function serving(t: Test, options: { timeoutMs?: number } = {}) {
  let release: (() => void) | null = null;
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') release = () => res.end('slow\n');
    else if (req.url === '/never') return;
    else res.end('fast\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const events: string[] = [];
  let exited!: (at: number) => void;
  const exit = new Promise<number>((resolve) => { exited = resolve; });
  onShutdown(server, {
    recentMs: RECENT_MS, timeoutMs: options.timeoutMs ?? 10_000,
    beforeExit: () => { events.push('beforeExit'); },
    exit: (code) => { events.push(`exit ${code}`); exited(Date.now()); },
  });
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  return { server, port, events, exit, release: () => release?.() };
}

t.test("on 'shutdown': in-flight responses say Connection: close, idle connections close at once, recent ones get recentMs, then beforeExit, then exit", async (t) => {
  const { port, events, exit, release } = await serving(t);
  const idle = client(port);
  const recent = client(port);
  const busy = client(port);
  await idle.get('/');
  await new Promise((r) => setTimeout(r, RECENT_MS + 100));
  await recent.get('/');
  const slow = busy.get('/slow');
  await new Promise((r) => setTimeout(r, 50));

  const shutdownAt = Date.now();
  process.emit('message', 'shutdown', undefined);
  const idleClosedAt = await idle.closed;
  t.ok(idleClosedAt - shutdownAt < RECENT_MS / 2, `a connection idle for longer than recentMs closes at once (${idleClosedAt - shutdownAt} ms)`);
  const recentClosedAt = await recent.closed;
  t.ok(recentClosedAt - shutdownAt >= RECENT_MS - 200, `a recently used one gets the rest of recentMs (${recentClosedAt - shutdownAt} ms)`);
  t.same(events, [], 'no exit while a response is in flight');
  release();
  t.match(await slow, /^HTTP\/1\.1 200 OK\r\n(.*\r\n)*Connection: close\r\n/i, 'the response in flight says Connection: close');
  await busy.closed;
  await exit;
  t.same(events, ['beforeExit', 'exit 0'], 'beforeExit runs once the last connection is gone, then the exit');
});

t.test('a request that arrives on a recent connection during the drain is answered with Connection: close', async (t) => {
  const { port, exit } = await serving(t);
  const recent = client(port);
  await recent.get('/');
  process.emit('message', 'shutdown', undefined);
  t.match(await recent.get('/'), /\r\nConnection: close\r\n/i);
  await recent.closed;
  await exit;
});

t.test('a connection that never finishes: the exit comes at timeoutMs, without beforeExit', async (t) => {
  const { port, events, exit } = await serving(t, { timeoutMs: 600 });
  const stuck = client(port);
  void stuck.get('/never');
  await new Promise((r) => setTimeout(r, 50));
  const shutdownAt = Date.now();
  process.emit('message', 'shutdown', undefined);
  const exitAt = await exit;
  t.ok(exitAt - shutdownAt >= 550 && exitAt - shutdownAt < 2_000, `at timeoutMs (${exitAt - shutdownAt} ms)`);
  t.same(events, ['exit 0']);
});

t.test("online() and offline() send naught's messages", async (t) => {
  const sent: unknown[] = [];
  const original = process.send;
  process.send = ((message: unknown) => { sent.push(message); return true; }) as typeof process.send;
  t.teardown(() => { process.send = original; });
  const said = () => sent.filter((message) => typeof message === 'string');
  const server = http.createServer();
  online(server);
  t.same(said(), [], "not before it listens");
  // The first metrics report goes at once: it tells the master this worker answers asks.
  t.match(sent, [{ naught: 'metrics', lagMs: { p50: Number, p99: Number, max: Number }, heapUsedBytes: Number }], 'one metrics report');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.same(said(), ['online'], 'once it listens');
  online();
  offline();
  t.same(said(), ['online', 'online', 'offline']);
  t.equal(sent.length, 4, 'the metrics report only once');
  server.close();
});
