// Loaded into every worker by the master (`--require`, before the server's own code), so
// that servers written for naught 1.6 keep its promises on current Node:
//
// - Safe sends: a process.send after naught disconnected the worker (a second 'offline',
//   a late 'online') is dropped instead of raising an 'error' that would kill the worker
//   with its requests in flight. Always on.
// - The drain (NAUGHT_DRAIN=auto): once naught said 'shutdown', or the worker said
//   'offline', an http, https or http2 server's close() drains (drain.cts) instead of
//   cutting idle keep-alive connections, as Node 19+ does.
import net = require('node:net');
import { drainOf, type Drainable } from './drain.cjs';

const DEFAULT_RECENT_MS = 1_000;
let leaving = false;

keepSendsSafe();
process.on('message', (message: unknown) => { if (message === 'shutdown') leaving = true; });
if (process.env.NAUGHT_DRAIN === 'auto') drainServers(recentMsFromEnv());

function keepSendsSafe(): void {
  const send = process.send;
  if (!send) return;
  process.send = function sendWhileConnected(this: NodeJS.Process, message: unknown, ...rest: unknown[]): boolean {
    if (message === 'offline') leaving = true;
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

function drainServers(recentMs: number): void {
  const listen = net.Server.prototype.listen;
  // Follows a server from its listen on: no connection can come before.
  net.Server.prototype.listen = function listenAndTrack(this: net.Server, ...args: unknown[]) {
    if (isHttp(this)) drainOf(this as Drainable, recentMs, () => leaving);
    return (listen as (...args: unknown[]) => net.Server).apply(this, args);
  } as typeof listen;
}

function recentMsFromEnv(): number {
  const value = Number(process.env.NAUGHT_DRAIN_RECENT_MS);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_RECENT_MS;
}
