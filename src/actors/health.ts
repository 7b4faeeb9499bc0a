// In the daemon, with `start --health ADDR` (127.0.0.1:PORT or unix:/path): /livez, /readyz
// and /status over HTTP, for load balancers, Kubernetes probes and fleet tools. What it
// answers comes from the bus as it goes and from the master's heartbeat: nothing that a
// restart could lose.
import fs from 'node:fs';
import { removeSocketPath } from '../files/owned-paths.js';
import http from 'node:http';
import net from 'node:net';
import type { Bus } from '../bus/bus.js';
import { newRequestId } from '../bus/request-id.js';
import type { Counts } from '../bus/messages.js';
import { statusReports } from '../bus/status-reports.js';
import type { HealthAddress } from '../cluster/addresses.js';

export interface Health {
  /** The listening server: `naught upgrade` passes its descriptor on, and hands on what it accepts. */
  server: net.Server;
  /** Starts answering; until then it only follows the bus. */
  serve(): Promise<void>;
  /**
   * `naught upgrade`: closes the connections kept alive after an answer, so that their
   * probes go to the new daemon. Not Node's closeIdleConnections(): that also cuts a
   * connection accepted a moment ago whose request is not read yet (seen on Node 26 as a
   * probe's ECONNRESET during an upgrade).
   */
  closeKeptAlive(): void;
  /**
   * `naught upgrade` handed over to a new daemon whose workers are online: the old workers'
   * stop is not naught stopping, so a probe this daemon still answers (a connection it
   * accepted just before) hears ready, as the new daemon would say.
   */
  handedOver(): void;
  close(): Promise<void>;
}

export function createHealthActor(deps: {
  bus: Bus; address: HealthAddress; masterAnswering: () => boolean;
  /** A listening socket an upgrading daemon passed on: served as is. */
  fd?: number | null;
}): Health {
  const { bus, address, masterAnswering } = deps;
  let counts: Counts = { booting: 0, online: 0, dying: 0, new_online: 0 };
  let stopping = false;
  let upgraded = false;
  let failing = false;
  const offs = [
    bus.on('pool.event', ({ event, count, waitingFor }) => {
      counts = count;
      stopping = waitingFor === 'shutdown';
      if ((event === 'NewDeath' || event === 'Timeout') && (waitingFor === 'new' || waitingFor === 'old')) failing = true;
      if (event === 'DeployFailed' || event === 'Ready' || event === 'Shutdown') failing = false;
    }),
  ];
  const inspect = statusReports((handler) => offs.push(bus.on('status.report', handler)), () => {
    const requestId = `health:${newRequestId()}`;
    bus.publish({ type: 'cmd.inspect', requestId });
    return requestId;
  });

  const reply = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body) + '\n');
  };

  const server = http.createServer((req, res) => {
    const route = req.method === 'GET' || req.method === 'HEAD' ? req.url?.split('?')[0] : null;
    if (route === '/livez') {
      return masterAnswering() ? reply(res, 200, { live: true }) : reply(res, 503, { live: false, reason: 'the master is not answering' });
    }
    if (route === '/readyz') {
      const online = counts.online + counts.new_online;
      if (upgraded) return reply(res, 200, { ready: true, online });
      if (stopping) return reply(res, 503, { ready: false, reason: 'naught is stopping', online });
      if (failing) return reply(res, 503, { ready: false, reason: 'a deploy is failing', online });
      if (online === 0) return reply(res, 503, { ready: false, reason: 'no worker is online', online });
      return reply(res, 200, { ready: true, online });
    }
    if (route === '/status') {
      void inspect().then((report) => (report ? reply(res, 200, report) : reply(res, 503, { running: true, reason: 'no status report within 4 s' })));
      return;
    }
    reply(res, 404, { error: 'naught serves /livez, /readyz and /status' });
  });
  // A probe's keep-alive connection must not hold a stop up.
  server.keepAliveTimeout = 2_000;
  const keptAlive = new Set<net.Socket>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    keptAlive.delete(socket);
    res.once('finish', () => {
      if (socket.destroyed) return;
      keptAlive.add(socket);
      socket.once('close', () => keptAlive.delete(socket));
    });
  });

  return {
    server,
    serve: () => listen(server, address, deps.fd ?? null),
    handedOver() {
      upgraded = true;
    },
    closeKeptAlive() {
      for (const socket of keptAlive) socket.destroy();
      keptAlive.clear();
    },
    close() {
      for (const off of offs) off();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function listen(server: http.Server, address: HealthAddress, fd: number | null): Promise<void> {
  if (fd !== null) return void await new Promise<void>((resolve) => server.listen({ fd }, () => resolve()));
  if (address.kind === 'unix') await removeStaleSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = address.kind === 'unix' ? `unix:${address.path}` : `${address.host}:${address.port}`;
      reject(new Error(`cannot serve --health on ${where}: ${error.code === 'EADDRINUSE' ? 'the address is in use' : error.message}`));
    });
    if (address.kind === 'unix') server.listen(address.path, () => resolve());
    else server.listen(address.port, address.host, () => resolve());
  });
}

/** A socket file nobody answers on is a dead daemon's: it goes. One that answers stays (listen then fails). */
async function removeStaleSocket(path: string): Promise<void> {
  const found = fs.lstatSync(path, { throwIfNoEntry: false });
  if (!found) return;
  // A typo (`--health unix:./server.js`) must not delete the file it names.
  if (!found.isSocket()) throw new Error(`cannot serve --health on unix:${path}: it is a ${found.isDirectory() ? 'folder' : 'file'}, not a socket, and naught removes only sockets`);
  const answered = await new Promise<boolean>((resolve) => {
    const socket = net.connect(path, () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  });
  if (!answered) removeSocketPath(path);
}
