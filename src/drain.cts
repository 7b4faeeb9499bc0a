// The drain: how an http, https or http2 server closes so that keep-alive clients lose
// nothing. Shared by `naught/worker`'s onShutdown and the preload that naught puts into
// every worker (worker-preload.cts); CommonJS, so that `--require` loads it into
// CommonJS and ES module servers alike.
//
// Since Node 19, close() also closes every idle keep-alive connection at once, racing
// requests that clients have already sent on them. Draining instead: the server stops
// accepting; responses in flight, and requests that still arrive on live connections,
// answer with `Connection: close`; a connection idle for longer than recentMs closes at
// once, a more recent one gets the rest of recentMs; http2 sessions get the two-step
// GOAWAY. The server's 'close' (and close()'s callback) comes once the last connection
// is gone.
import net = require('node:net');
import type { Server as NetServer, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';

export type Drainable = NetServer & {
  on(event: string, listener: (...args: never[]) => void): unknown;
  prependListener(event: string, listener: (...args: never[]) => void): unknown;
  closeIdleConnections?: () => void;
};

export interface Drain {
  /** Starts draining; once is enough, later calls do nothing. */
  start(): void;
  /** How long a recently used idle connection may still bring a request. */
  recentMs: number;
  /** Settles once the server has closed and its last connection is gone. */
  readonly closed: Promise<void>;
}

interface Tracked {
  /** Responses not yet finished on the connection. */
  inFlight: Set<ServerResponse>;
  lastUsed: number;
}

// Global, so that two copies of naught in one worker (the preload, and `naught/worker`
// from the application's own node_modules) find each other and drain a server once.
const DRAIN = Symbol.for('naught.drain');
type Marked = Drainable & { [DRAIN]?: Drain & { startsOn: (() => boolean)[] } };

/**
 * Follows a server's connections from now on. `startsOn`: when it holds, the server's own
 * close() and closeIdleConnections() start the drain instead of cutting connections (the
 * preload's way); without it, the caller starts the drain and its recentMs wins
 * (`naught/worker`'s way, where the application chose it).
 */
export function drainOf(server: Drainable, recentMs: number, startsOn?: () => boolean): Drain {
  const marked = server as Marked;
  const known = marked[DRAIN];
  if (known) {
    if (startsOn) known.startsOn.push(startsOn);
    else known.recentMs = recentMs;
    return known;
  }
  const drain = track(marked, recentMs, startsOn ? [startsOn] : []);
  marked[DRAIN] = drain;
  return drain;
}

function track(server: Marked, initialRecentMs: number, startsOn: (() => boolean)[]): Drain & { startsOn: (() => boolean)[] } {
  const connections = new Map<Socket, Tracked>();
  const sessions = new Set<Http2Session>();
  const usedSessions = new WeakSet<Http2Session>();
  let isHttp2 = false;
  let draining = false;
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const drain = { start, closed, startsOn, recentMs: initialRecentMs };

  // Over TLS, requests arrive on the TLS socket, not on the TCP one under it.
  server.on(isTls(server) ? 'secureConnection' : 'connection', (socket: Socket) => {
    connections.set(socket, { inFlight: new Set(), lastUsed: Date.now() });
    socket.once('close', () => connections.delete(socket));
  });
  server.on('session', (session: Http2Session) => {
    isHttp2 = true;
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.once('stream', () => usedSessions.add(session));
    if (draining) drainSessionWhenUsed(session);
  });
  // Before the application's own handler, which may answer at once.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const tracked = connections.get(req.socket);
    // http2 requests arrive on sessions, whose drain is the GOAWAY.
    if (!tracked) return;
    tracked.inFlight.add(res);
    tracked.lastUsed = Date.now();
    if (draining) res.setHeader('Connection', 'close');
    res.once('close', () => {
      tracked.inFlight.delete(res);
      tracked.lastUsed = Date.now();
      // A response that said Connection: close ends its connection by itself. One begun
      // before the drain could not say it, so its client may reuse the connection now.
      if (draining && tracked.inFlight.size === 0 && res.getHeader('connection') !== 'close') closeIfUnused(req.socket, tracked, drain.recentMs);
    });
  });

  const shouldStart = () => !draining && startsOn.some((holds) => holds());
  const close = server.close;
  server.close = function closeDraining(this: Marked, ...args: Parameters<NetServer['close']>) {
    if (shouldStart()) start();
    // Node 24+'s http2 close() also closes every session at once (closeAllSessions): a final
    // GOAWAY that refuses the first stream of a session just opened and the streams already
    // on their way. While draining, the sessions are the drain's: only the listener closes.
    if (draining && isHttp2) return net.Server.prototype.close.apply(this, args);
    return close.apply(this, args);
  };
  // Node's close(), Fastify's forceCloseConnections and cluster's disconnect all call
  // this; once draining, the drain decides which idle connections go, and when.
  const closeIdle = server.closeIdleConnections;
  if (closeIdle) {
    server.closeIdleConnections = function closeIdleUnlessDraining(this: Marked) {
      if (shouldStart()) start();
      if (!draining) closeIdle.call(this);
    };
  }

  /**
   * A session that has carried no stream yet was opened for a request on its way: a
   * GOAWAY before that request arrives would only make its client refuse it.
   */
  function drainSessionWhenUsed(session: Http2Session): void {
    if (usedSessions.has(session)) drainSession(session, drain.recentMs);
    else drainAfterFirstStream(session, drain.recentMs);
  }

  function start(): void {
    if (draining) return;
    draining = true;
    for (const session of sessions) drainSessionWhenUsed(session);
    if (isHttp2) return;
    for (const [socket, tracked] of connections) {
      for (const res of tracked.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      if (tracked.inFlight.size === 0) closeIfUnused(socket, tracked, tracked.lastUsed + drain.recentMs - Date.now());
    }
  }

  return drain;
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

function drainAfterFirstStream(session: Http2Session, recentMs: number): void {
  const timer = setTimeout(() => drainSession(session, recentMs), recentMs).unref();
  session.once('stream', () => {
    clearTimeout(timer);
    drainSession(session, recentMs);
  });
}

function closeWhenWritten(socket: Socket): void {
  if (socket.destroyed) return;
  socket.end();
  // A peer that never acknowledges the end must not hold the drain open.
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/**
 * A TLS server (https, http2's secure one): told by its methods, so that loading this
 * module into every worker does not load node:tls for servers that never use it.
 */
function isTls(server: Drainable): boolean {
  return typeof (server as { setSecureContext?: unknown }).setSecureContext === 'function';
}
