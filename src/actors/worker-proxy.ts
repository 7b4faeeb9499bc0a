// One per cluster worker, living in the master: the only code that speaks the user's
// protocol. 'online' / 'offline' / exit become bus facts; bus commands become
// 'shutdown', disconnect and SIGKILL.
import type { Worker } from 'node:cluster';
import type { Bus } from '../bus/bus.js';
import { systemClock, type Clock } from '../bus/clock.js';
import type { EventLoopLag } from '../bus/messages.js';

export interface WorkerProxyDeps {
  bus: Bus;
  workerId: number;
  slot: number;
  /** A restart that backs off is forked only after this delay. */
  delayMs: number;
  fork: (slot: number) => Worker;
  /** `start --worker-timeout`: a worker that sent a heartbeat and then none for this long is reported hung. */
  heartbeatTimeoutMs?: number | null;
  clock?: Clock;
}

/** How often the watchdog looks; naught/worker beats about every second. */
const HEARTBEAT_CHECK_MS = 1_000;

const isHeartbeat = (message: unknown): boolean => (message as { naught?: unknown } | null)?.naught === 'heartbeat';

/** naught/worker's report (worker.ts); anything else a worker sends is ignored, as naught 1.6 did. */
function isMetrics(message: unknown): message is { lagMs: EventLoopLag; heapUsedBytes: number } {
  const { naught, lagMs, heapUsedBytes } = (message ?? {}) as { naught?: unknown; lagMs?: Partial<EventLoopLag>; heapUsedBytes?: unknown };
  const finite = (value: unknown) => typeof value === 'number' && Number.isFinite(value) && value >= 0;
  return naught === 'metrics' && typeof lagMs === 'object' && lagMs !== null
    && finite(lagMs.p50) && finite(lagMs.p99) && finite(lagMs.max) && finite(heapUsedBytes);
}

export function createWorkerProxyActor({ bus, workerId, slot, delayMs, fork, heartbeatTimeoutMs = null, clock = systemClock }: WorkerProxyDeps): void {
  let worker: Worker | null = null;
  let pid = 0;
  let exited = false;
  let lastBeat: number | null = null;
  let watchdog: (() => void) | null = null;
  const delay = delayMs > 0 ? clock.after(delayMs, start) : null;

  const offs = [
    bus.on('worker.shutdown', (cmd) => { if (cmd.workerId === workerId) shutdown(cmd.notify); }),
    bus.on('worker.kill', (cmd) => { if (cmd.workerId === workerId) kill(); }),
    bus.on('worker.metrics-asked', ({ workerIds }) => {
      // `at`: the worker counts a late answer as event-loop delay (worker.ts).
      if (workerIds.includes(workerId) && worker?.isConnected()) worker.send({ naught: 'metrics?', at: Date.now() });
    }),
  ];
  if (delay === null) start();

  function start(): void {
    worker = fork(slot);
    pid = worker.process.pid ?? 0;
    // Sends to a worker whose channel just closed fail; its exit event tells the rest.
    worker.on('error', () => {});
    worker.on('message', (message: unknown) => {
      if (message === 'online') bus.publish({ type: 'worker.online', workerId, slot, pid });
      else if (message === 'offline') bus.publish({ type: 'worker.offline', workerId, slot, pid });
      else if (isHeartbeat(message)) heard();
      else if (isMetrics(message)) bus.publish({ type: 'worker.metrics', workerId, slot, pid, lagMs: { p50: message.lagMs.p50, p99: message.lagMs.p99, max: message.lagMs.max }, heapUsedBytes: message.heapUsedBytes });
    });
    worker.on('exit', (code: number | null, signal: string | null) => exit(code, signal));
    bus.publish({ type: 'worker.spawned', workerId, slot, pid });
  }

  /** Servers without naught/worker never beat, and are never watched. */
  function heard(): void {
    lastBeat = clock.now();
    if (watchdog || heartbeatTimeoutMs === null) return;
    const check = () => {
      const silentMs = clock.now() - lastBeat!;
      if (silentMs < heartbeatTimeoutMs) return void (watchdog = clock.after(HEARTBEAT_CHECK_MS, check));
      watchdog = null;
      bus.publish({ type: 'worker.hung', workerId, slot, pid, silentMs });
    };
    watchdog = clock.after(HEARTBEAT_CHECK_MS, check);
  }

  function stopWatchdog(): void {
    watchdog?.();
    watchdog = null;
  }

  function shutdown(notify: boolean): void {
    if (worker === null) return cancel();
    if (!worker.isConnected()) return;
    if (notify) worker.send('shutdown');
    worker.disconnect();
  }

  function kill(): void {
    if (worker === null) return cancel();
    worker.process.kill('SIGKILL');
  }

  /** Told to go before it was ever forked: it is gone at once. */
  function cancel(): void {
    delay?.();
    exit(null, null);
  }

  function exit(code: number | null, signal: string | null): void {
    if (exited) return;
    exited = true;
    stopWatchdog();
    for (const off of offs) off();
    bus.publish({ type: 'worker.exited', workerId, slot, pid, code, signal });
  }
}
