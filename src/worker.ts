// `naught/worker`: the worker side of naught's protocol, with a drain that keep-alive
// clients survive. Works with node:http, node:https and node:http2 servers, and with
// Express or Fastify through their server (`app.listen(…)`'s return, `fastify.server`).
import type { Server as NetServer } from 'node:net';
import cluster from 'node:cluster';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { drainOf, type Drainable } from './drain.cjs';
import { METRICS_ANSWER_WAIT_MS } from './supervision/constants.js';

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

/**
 * Serves on a socket naught passes to every worker: one systemd activated (a `.socket`
 * unit, LISTEN_FDS), chosen by its name (`FileDescriptorName=`) or the first. Each worker
 * accepts on it itself (`exclusive`), with no round-robin through the master, and the
 * socket outlives workers, deploys and naught's own restarts. Returns the server.
 */
export function listen<S extends { listen(options: { fd: number; exclusive: boolean }): unknown }>(server: S, name?: string): S {
  const fds = (process.env.NAUGHT_LISTEN_FDS ?? '').split(',').filter(Boolean).map(Number);
  const names = (process.env.NAUGHT_LISTEN_FDNAMES ?? '').split(':');
  if (fds.length === 0) throw new Error('naught passed no socket to this worker: start naught from a systemd .socket unit (LISTEN_FDS), or listen on a port');
  const index = name === undefined ? 0 : names.indexOf(name);
  if (index === -1) throw new Error(`naught passed no socket named ${name}: it has ${names.join(', ')}`);
  // Node's listen({ fd }) ignores `exclusive` in a cluster worker and asks the primary,
  // which cannot share an fd it does not hold (EEXIST). For the one synchronous call that
  // binds the handle, this worker listens as a primary would: on the fd itself.
  const role = cluster as { isPrimary: boolean };
  const asPrimary = role.isPrimary;
  role.isPrimary = true;
  try {
    server.listen({ fd: fds[index]!, exclusive: true });
  } finally {
    role.isPrimary = asPrimary;
  }
  return server;
}

/** Tells naught this worker serves: at once, or once `server` listens. Starts the lag reports. */
export function online(server?: Listenable): void {
  reportMetrics();
  beat();
  if (!server || server.listening) return send('online');
  server.once('listening', () => send('online'));
}

/**
 * With `start --worker-timeout`, naught asks for a heartbeat (NAUGHT_HEARTBEAT_MS): sent
 * from a timer, it stops when the event loop is blocked, and naught replaces the worker.
 */
function beat(): void {
  const every = Number(process.env.NAUGHT_HEARTBEAT_MS);
  if (!every || !process.send || beating) return;
  beating = true;
  const send = () => { if (process.connected) process.send?.({ naught: 'heartbeat' }, undefined, {}, () => {}); };
  send();
  setInterval(send, every).unref();
}
let beating = false;

let reporting = false;

/**
 * The event-loop delay since the previous report (p50, p99, max, in ms) and the heap in
 * use, as `{ naught: 'metrics', … }` over the IPC channel: once at online(), so that the
 * master knows this worker answers, then whenever it asks (`{ naught: 'metrics?', at }`,
 * once per status report or scrape). Nothing is sent while nobody asks, so an idle naught
 * does not wake for it; NAUGHT_METRICS_INTERVAL_MS also sends one every so many ms (for
 * a trace that shows the lag as it goes). naught 1.6 ignored messages it did not know.
 */
function reportMetrics(): void {
  if (reporting || !process.send) return;
  reporting = true;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const ms = (ns: number) => Math.round(ns / 10_000) / 100;
  // `lateMs`: how late this report is, a sample too. After a blocked loop the ask (or the
  // timer) can run before the monitor's own timer has recorded the block. An answer too
  // late for the report that asked keeps its figures for the next one.
  const report = (lateMs: number) => {
    if (!process.connected) return;
    const lagMs = { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(Math.max(delay.max, lateMs * 1e6)) };
    process.send?.({ naught: 'metrics', lagMs, heapUsedBytes: process.memoryUsage().heapUsed }, undefined, {}, () => {});
    if (lateMs < METRICS_ANSWER_WAIT_MS) delay.reset();
  };
  report(0);
  process.on('message', (message: { naught?: unknown; at?: unknown } | null) => {
    if (message?.naught === 'metrics?') report(Math.max(0, Date.now() - (Number(message.at) || Date.now())));
  });
  const interval = Number(process.env.NAUGHT_METRICS_INTERVAL_MS);
  if (!(interval > 0)) return;
  let dueAt = performance.now() + interval;
  setInterval(() => {
    report(performance.now() - dueAt);
    dueAt = performance.now() + interval;
  }, interval).unref();
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
