// In a foreground daemon started by systemd with Type=notify (NOTIFY_SOCKET set): tells
// systemd, from the daemon's own pid (so NotifyAccess=main works), what naught is doing.
//   READY=1                      the first boot is Ready; and again when a deploy ends
//   RELOADING=1, MONOTONIC_USEC  a deploy (SIGHUP or the CLI) begins
//   STOPPING=1                   a stop begins
//   STATUS=…                     every pool event, in naught's words
//   WATCHDOG=1                   every WATCHDOG_USEC / 2, while the master answers
//   EXTEND_TIMEOUT_USEC=…        every 5 s of a boot, deploy or stop still under way
//   MAINPID=…                    `naught upgrade`: the old daemon names the new one (so that
//                                NotifyAccess=main accepts it), which then says it again, READY=1
// Node has no unix datagram sockets: node-unix-socket sends them. It is N-API, with builds
// for Linux (glibc and musl) and macOS shipped in the package, so it loads on every Node
// line without a compiler and survives a Node upgrade. Where it did not load (another
// platform), or NOTIFY_SOCKET names an abstract socket (`@name`, which it cannot reach),
// one line says so and naught runs on, unheard.
import { createRequire } from 'node:module';
import type { Bus } from '../bus/bus.js';
import { systemClock, type Clock } from '../bus/clock.js';
import { formatEvent } from '../pool/event-text.js';

const EXTEND_EVERY_MS = 5_000;
/** Each extension covers two periods: a late timer does not let systemd's clock run out. */
const EXTEND_BY_USEC = 2 * EXTEND_EVERY_MS * 1000;

interface DatagramSocket { sendTo(buffer: Buffer, offset: number, length: number, path: string, callback?: (error?: Error) => void): void; on(event: 'error', handler: (error: Error) => void): void; close(): void }

export interface NotifyDeps {
  bus: Bus;
  env?: NodeJS.ProcessEnv;
  /** The master answers its heartbeat: the watchdog is fed only then. */
  masterAnswering: () => boolean;
  warn: (line: string) => void;
  /** This daemon took over from another by `naught upgrade`: its workers are online already. */
  tookOver?: boolean;
  clock?: Clock;
}

export interface SystemdNotify {
  /** `naught upgrade`: the daemon with this pid is the unit's main process from now on; this one says nothing more. */
  handOver(pid: number): void;
  close(): void;
}

export function createSystemdNotifyActor({ bus, env = process.env, masterAnswering, warn, tookOver = false, clock = systemClock }: NotifyDeps): SystemdNotify {
  const silent = { handOver() {}, close() {} };
  const target = env.NOTIFY_SOCKET;
  if (!target) return silent;
  if (target.startsWith('@')) {
    warn(`NOTIFY_SOCKET is set, but naught cannot tell systemd anything: ${target} is an abstract socket, which naught cannot reach. Use a socket path (systemd's own is one), or Type=simple.`);
    return silent;
  }
  const socket = openSocket(warn);
  if (!socket) return silent;
  const notify = (...assignments: string[]) => {
    const message = Buffer.from(assignments.join('\n'));
    try {
      // The callback stays empty: node-unix-socket aborts the process if the socket is
      // closed from inside one while other sends wait.
      socket.sendTo(message, 0, message.length, target, () => {});
    } catch {
      // systemd went away (a stop, a re-exec): nobody to tell.
    }
  };

  let booted = tookOver;
  if (tookOver) notify(`MAINPID=${process.pid}`, 'READY=1');
  // Armed only while a boot, deploy or stop is under way: an idle daemon sets no timer for it.
  let extension: (() => void) | null = null;
  const busy = () => {
    idle();
    const extend = () => {
      notify(`EXTEND_TIMEOUT_USEC=${EXTEND_BY_USEC}`);
      extension = clock.after(EXTEND_EVERY_MS, extend);
    };
    extension = clock.after(EXTEND_EVERY_MS, extend);
  };
  const idle = () => {
    extension?.();
    extension = null;
  };
  if (!tookOver) busy();
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  // systemd named the main process it started; a daemon that took over is the main process now.
  const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid || tookOver;
  const feedEveryMs = Math.max(1, Math.floor(watchdogUsec / 2000));
  const feed = () => {
    if (masterAnswering()) notify('WATCHDOG=1');
    stopWatchdog = clock.after(feedEveryMs, feed);
  };
  let stopWatchdog = watchdogUsec > 0 && forUs ? clock.after(feedEveryMs, feed) : null;

  let reloading = false;
  const offs = [
    bus.on('pool.event', (event) => {
      notify(`STATUS=${formatEvent(event)}`);
      // A deploy begins with its first new worker (a refused one never spawns any).
      if (event.event === 'SpawnNew' && event.waitingFor === 'new' && booted && !reloading) {
        reloading = true;
        busy();
        notify('RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`);
      }
      if (event.event !== 'Ready' && event.event !== 'DeployFailed') return;
      // The first boot's Ready is the start; a deploy's end, either way, ends the reload.
      if (booted ? reloading : event.event === 'Ready') notify('READY=1');
      booted = true;
      reloading = false;
      idle();
    }),
    bus.on('cmd.stop', () => {
      busy();
      notify('STOPPING=1');
    }),
  ];
  const close = () => {
    for (const off of offs) off();
    stopWatchdog?.();
    idle();
    socket.close();
  };
  return {
    handOver(pid) {
      notify(`MAINPID=${pid}`);
      close();
    },
    close,
  };
}

/** CLOCK_MONOTONIC in µs, which systemd compares RELOADING=1 against. */
function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

function openSocket(warn: (line: string) => void): DatagramSocket | null {
  try {
    const require = createRequire(import.meta.url);
    const { DgramSocket } = require('node-unix-socket') as { DgramSocket: new () => DatagramSocket };
    const socket = new DgramSocket();
    socket.on('error', () => {});
    return socket;
  } catch (error) {
    warn(`NOTIFY_SOCKET is set, but naught cannot tell systemd anything: the module node-unix-socket did not load (${(error as Error).message.split('\n')[0]}); it has builds for Linux and macOS on x64 and arm64. Use Type=simple elsewhere.`);
    return null;
  }
}
