// `naught/worker`: the worker side of naught's protocol, with a drain that keep-alive
// clients survive. Works with node:http, node:https and node:http2 servers, and with
// Express or Fastify through their server (`app.listen(…)`'s return, `fastify.server`).
import type { Server as NetServer } from 'node:net';
import { drainOf, type Drainable } from './drain.cjs';

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

/**
 * On naught's 'shutdown': stops accepting, lets requests in flight finish (their
 * responses say Connection: close), closes idle connections, and exits once the last
 * connection is gone, or at the deadline. For http2 each session gets a GOAWAY and
 * finishes its streams. The drain is the one naught's preload applies to every worker
 * (drain.cts): a server handed to both is drained once.
 */
export function onShutdown(server: Drainable | Drainable[], options: ShutdownOptions = {}): void {
  const servers = Array.isArray(server) ? server : [server];
  const drains = servers.map((s) => drainOf(s, options.recentMs ?? 1_000));
  let started = false;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const onMessage = (message: unknown) => {
    if (message !== 'shutdown' || started) return;
    started = true;
    process.off('message', onMessage);
    const deadline = setTimeout(() => exit(0), options.timeoutMs ?? 30_000);
    deadline.unref();
    const closed = servers.map((s, i) => new Promise<void>((resolve) => {
      drains[i]!.start();
      s.close(() => resolve());
    }));
    void Promise.all(closed).then(async () => {
      clearTimeout(deadline);
      await options.beforeExit?.();
      exit(0);
    });
  };
  process.on('message', onMessage);
}
