// Loaded into every worker by the master (`--require`, before the server's own code), so
// that servers written for naught 1.6 keep its promises on current Node:
//
// - Safe sends: a process.send after naught disconnected the worker (a second 'offline',
//   a late 'online') is dropped instead of raising an 'error' that would kill the worker
//   with its requests in flight. Always on.
// - The drain (NAUGHT_DRAIN=auto): once naught said 'shutdown', or the worker said
//   'offline', an http, https or http2 server's close() drains (drain.cts) instead of
//   cutting idle keep-alive connections, as Node 19+ does.
// - No new connections once leaving: after 'offline' or 'shutdown', every server that
//   accepts on a socket of its own (`start --listen`, systemd's, `naught/worker`'s
//   listen()) is closed, which drains it under NAUGHT_DRAIN=auto; otherwise the worker
//   would go on taking new connections from the shared queue until it exits. A server
//   that listens through the cluster (round-robin) is left to the master's disconnect,
//   which closes it and lets the worker's 'disconnect' wait for its last connection.
// - Ready without naught's protocol (NAUGHT_READY, `start --ready`): `listening` says
//   'online' for the worker once its first server listens; a number of ms, once it has
//   lived that long. Then 'shutdown' is handled for the application too, as PM2 does it:
//   its own SIGINT (else SIGTERM) handlers run, every server it listens on closes (with
//   the drain), and the worker exits once they have; one with neither exits at once.
import clusterModule = require('node:cluster');
import net = require('node:net');
import { drainOf, type Drainable } from './drain.cjs';

const cluster = clusterModule as unknown as { isPrimary: boolean };

const DEFAULT_RECENT_MS = 1_000;
const drains = process.env.NAUGHT_DRAIN === 'auto';
const recentMs = recentMsFromEnv();
/** Servers that accept on a socket of their own, not through the cluster's master. */
const ownSockets = new Set<net.Server>();
/** Every server listening in this worker, for `--ready`'s shutdown. */
const listening = new Set<net.Server>();
const ready = process.env.NAUGHT_READY ?? 'online';
let leaving = false;
let saidOnline = false;

keepSendsSafe();
process.on('message', (message: unknown) => {
  if (message !== 'shutdown') return;
  leave();
  if (ready !== 'online') shutDownForTheApp();
});
followServers();
if (/^\d+$/.test(ready)) setTimeout(sayOnline, Number(ready)).unref();

function sayOnline(): void {
  if (saidOnline) return;
  saidOnline = true;
  process.send?.('online');
}

/**
 * The application's handlers of a signal, less signal-exit's (a dependency of many
 * libraries, and of test runners' preloads): alone, it re-raises the signal, which would
 * kill the worker in the middle of its drain.
 */
function ownHandlers(signal: 'SIGINT' | 'SIGTERM'): number {
  const signalExit = (process as unknown as Record<string | symbol, { count?: unknown } | undefined>)[Symbol.for('signal-exit emitter')]
    ?? (process as unknown as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__;
  const theirs = typeof signalExit?.count === 'number' ? signalExit.count : 0;
  return process.listenerCount(signal) - theirs;
}

/** `--ready listening` or a timer: the application knows nothing of 'shutdown'. */
function shutDownForTheApp(): void {
  const signal = ownHandlers('SIGINT') > 0 ? 'SIGINT' : ownHandlers('SIGTERM') > 0 ? 'SIGTERM' : null;
  if (signal) process.emit(signal, signal);
  process.nextTick(() => {
    const open = [...listening];
    if (open.length === 0) {
      // Its handler may exit when it is done; without one, nothing else would.
      if (!signal) process.exit(0);
      return;
    }
    let left = open.length;
    for (const server of open) {
      server.once('close', () => { if (--left === 0) process.exit(0); });
      if (server.listening) server.close();
    }
  });
}

/**
 * After the code that said or heard it has run: a server the application closes itself
 * in the same turn keeps its own close() callback free of ERR_SERVER_NOT_RUNNING.
 */
function leave(): void {
  if (leaving) return;
  leaving = true;
  process.nextTick(() => {
    for (const server of ownSockets) if (server.listening) server.close();
  });
}

function keepSendsSafe(): void {
  const send = process.send;
  if (!send) return;
  process.send = function sendWhileConnected(this: NodeJS.Process, message: unknown, ...rest: unknown[]): boolean {
    if (message === 'offline') leave();
    if (process.connected) return (send as (...args: unknown[]) => boolean).call(this, message, ...rest);
    const callback = rest.find((arg): arg is (error: Error) => void => typeof arg === 'function');
    if (callback) process.nextTick(callback, new Error('naught has disconnected this worker: the message was not sent'));
    return false;
  } as typeof process.send;
}

/**
 * http and https servers have closeIdleConnections, http2's updateSettings: told by their
 * methods, so that a worker's start-up loads no module it does not use itself.
 */
const isHttp = (server: net.Server) => typeof (server as { closeIdleConnections?: unknown }).closeIdleConnections === 'function'
  || typeof (server as { updateSettings?: unknown }).updateSettings === 'function';

function followServers(): void {
  const listen = net.Server.prototype.listen;
  // Follows a server from its listen on: no connection can come before.
  net.Server.prototype.listen = function listenAndTrack(this: net.Server, ...args: unknown[]) {
    if (drains && isHttp(this)) drainOf(this as Drainable, recentMs, () => leaving);
    // As node:net decides: a worker listens through the master unless it poses as the
    // primary for the call (naught/worker's listen()) or asks for an exclusive socket.
    const exclusive = (args[0] as { exclusive?: unknown } | null)?.exclusive === true;
    if ((cluster.isPrimary || exclusive) && !ownSockets.has(this)) {
      ownSockets.add(this);
      this.once('close', () => ownSockets.delete(this));
    }
    if (!listening.has(this)) {
      this.once('listening', () => {
        listening.add(this);
        this.once('close', () => listening.delete(this));
        if (ready === 'listening') sayOnline();
      });
    }
    return (listen as (...args: unknown[]) => net.Server).apply(this, args);
  } as typeof listen;
}

function recentMsFromEnv(): number {
  const value = Number(process.env.NAUGHT_DRAIN_RECENT_MS);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_RECENT_MS;
}
