// `naught/worker`: the worker side of naught's protocol, with a drain that keep-alive
// clients survive. Works with node:http, node:https and node:http2 servers, and with
// Express or Fastify through their server (`app.listen(…)`'s return, `fastify.server`).
import tls from 'node:tls';
import type { Server as NetServer, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';

/** Anything with a listening state: an http, https or http2 server. */
export type Listenable = Pick<NetServer, 'listening' | 'once'>;

export interface ShutdownOptions {
  /** The most time the drain may take; then the process exits regardless. Default 30 s. */
  timeoutMs?: number;
  /**
   * An idle keep-alive connection used within this time may carry a request that is
   * already on its way; it gets this long to bring it (answered with Connection: close)
   * before it is closed. Connections idle for longer are closed at once. Default 1 s.
   */
  recentMs?: number;
  /** Runs after the last connection is gone (close a database, flush logs), before exit. */
  beforeExit?: () => void | Promise<void>;
  /** Defaults to process.exit; tests replace it. */
  exit?: (code: number) => void;
}

const send = (message: 'online' | 'offline') => { process.send?.(message); };

/** Tells naught this worker serves: at once, or once `server` listens. */
export function online(server?: Listenable): void {
  if (!server || server.listening) return send('online');
  server.once('listening', () => send('online'));
}

/** After an uncaught exception: this worker takes no new connections and a replacement starts. */
export function offline(): void {
  send('offline');
}

interface Tracked {
  /** Responses not yet finished on the connection. */
  inFlight: Set<ServerResponse>;
  lastUsed: number;
}

type Drainable = NetServer & {
  on(event: string, listener: (...args: never[]) => void): unknown;
  prependListener(event: string, listener: (...args: never[]) => void): unknown;
};

/**
 * On naught's 'shutdown': stops accepting, lets requests in flight finish (their
 * responses say Connection: close), closes idle connections, and exits once the last
 * connection is gone, or at the deadline. For http2 each session gets a GOAWAY and
 * finishes its streams.
 */
export function onShutdown(server: Drainable | Drainable[], options: ShutdownOptions = {}): void {
  const servers = Array.isArray(server) ? server : [server];
  const drains = servers.map((s) => track(s, options.recentMs ?? 1_000));
  let started = false;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const onMessage = (message: unknown) => {
    if (message !== 'shutdown' || started) return;
    started = true;
    process.off('message', onMessage);
    const deadline = setTimeout(() => exit(0), options.timeoutMs ?? 30_000);
    deadline.unref();
    void Promise.all(drains.map((drain) => drain())).then(async () => {
      clearTimeout(deadline);
      await options.beforeExit?.();
      exit(0);
    });
  };
  process.on('message', onMessage);
}

/** Follows a server's connections; returns the drain, which resolves once all are closed. */
function track(server: Drainable, recentMs: number): () => Promise<void> {
  const connections = new Map<Socket, Tracked>();
  const sessions = new Set<Http2Session>();
  let isHttp2 = false;
  let draining = false;

  // Over TLS, requests arrive on the TLS socket, not on the TCP one under it.
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections.set(socket, { inFlight: new Set(), lastUsed: Date.now() });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('session', (session: Http2Session) => {
    isHttp2 = true;
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    if (draining) drainSession(session, recentMs);
  });
  // Before the application's own handler, which may answer at once.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const tracked = connections.get(req.socket);
    // http2 requests arrive on sessions, whose drain is the GOAWAY below.
    if (!tracked) return;
    tracked.inFlight.add(res);
    tracked.lastUsed = Date.now();
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      tracked.inFlight.delete(res);
      tracked.lastUsed = Date.now();
      // A response that said Connection: close ends its connection by itself. One begun
      // before the drain could not say it, so its client may reuse the connection now.
      if (draining && tracked.inFlight.size === 0 && res.getHeader('connection') !== 'close') closeIfUnused(req.socket, tracked, recentMs);
    });
  });

  return () => new Promise<void>((resolve) => {
    draining = true;
    // Node 19+ closes every idle connection inside close() (ours, and the one cluster's
    // disconnect makes), racing requests already on their way; we decide which, and when.
    (server as { closeIdleConnections?: () => void }).closeIdleConnections = () => {};
    server.close(() => resolve());
    for (const session of sessions) drainSession(session, recentMs);
    if (isHttp2) return;
    for (const [socket, tracked] of connections) {
      for (const res of tracked.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      if (tracked.inFlight.size === 0) closeIfUnused(socket, tracked, tracked.lastUsed + recentMs - Date.now());
    }
  });
}

/** Closes an idle connection after waitMs unless a request (answered with Connection: close) came meanwhile. */
function closeIfUnused(socket: Socket, tracked: Tracked, waitMs: number): void {
  if (waitMs <= 0) return closeWhenWritten(socket);
  const usedAt = tracked.lastUsed;
  setTimeout(() => {
    if (tracked.inFlight.size === 0 && tracked.lastUsed === usedAt) closeWhenWritten(socket);
  }, waitMs).unref();
}

/**
 * HTTP/2's two-step GOAWAY (RFC 9113 §6.8): first "no new streams", with every stream id
 * still accepted, so requests already on their way are served; the final one after recentMs.
 */
function drainSession(session: Http2Session, recentMs: number): void {
  if (session.closed || session.destroyed) return;
  session.goaway(0, 2 ** 31 - 1);
  setTimeout(() => { if (!session.closed && !session.destroyed) session.close(); }, recentMs).unref();
}

function closeWhenWritten(socket: Socket): void {
  if (socket.destroyed) return;
  socket.end();
  // A peer that never acknowledges the end must not hold the drain open.
  setTimeout(() => socket.destroy(), 1_000).unref();
}
