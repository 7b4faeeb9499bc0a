// What `start` shows on a terminal while its workers boot: naught's event lines as ever,
// under them one live line (`booting 1/2, 4 s`), and once, after 10 s with a worker still
// booting, a hint at the usual cause.
import type { PoolEvent } from '../bus/messages.js';
import type { Io } from './talk.js';
import { createLiveLine } from './live-line.js';

export const BOOT_HINT_AFTER_MS = 10_000;
export const BOOT_HINT = "Still booting: a worker counts as online once the server calls process.send('online') "
  + '(or online(server) from naught/worker) after it listens. See docs/worker-protocol.md.';

export interface BootProgress {
  /** Writes through this: the live line is lifted out of the way of every line. */
  io: Io;
  online(count: number): void;
  /** Erases the live line; what is printed afterwards is plain. */
  finish(): void;
  /** The hint, once, whether or not its time has come (a boot that timed out). */
  hint(): void;
}

export function createBootProgress(io: Io, total: number, tty: boolean, now: () => number = Date.now): BootProgress {
  let onlineCount = 0;
  let hinted = false;
  const live = createLiveLine(io, tty, (elapsedMs) => {
    if (elapsedMs >= BOOT_HINT_AFTER_MS && onlineCount < total) hint();
    return `booting ${onlineCount}/${total}, ${Math.floor(elapsedMs / 1000)} s`;
  }, now);
  function hint(): void {
    if (hinted || !tty) return;
    hinted = true;
    live.io.err(`${BOOT_HINT}\n`);
  }
  return {
    io: live.io,
    online(count) {
      onlineCount = count;
      live.draw();
    },
    finish: live.finish,
    hint,
  };
}

type PoolCommand = 'deploy' | 'stop' | 'upgrade';

/** `deploy`, `upgrade` and `stop` on a terminal: the phase, the new workers online, the old ones draining, the seconds. */
export function createPoolProgress(io: Io, tty: boolean, command: PoolCommand): { io: Io; saw(event: PoolEvent): void; finish(): void } {
  let last: PoolEvent | null = null;
  const live = createLiveLine(io, tty, (elapsedMs) => `${describe(command, last)}, ${Math.floor(elapsedMs / 1000)} s`);
  return {
    io: live.io,
    saw(event) {
      last = event;
      live.draw();
    },
    finish: live.finish,
  };
}

function describe(command: PoolCommand, event: PoolEvent | null): string {
  if (!event) return `${command}: asking the daemon`;
  const { booting, new_online: newOnline, dying, online } = event.count;
  if (command === 'stop' || event.waitingFor === 'shutdown') return `stopping: ${dying} draining, ${online} online`;
  if (event.waitingFor === 'old') return `${command}: retiring the old workers, new online ${online}, old draining ${dying}`;
  return `${command}: booting the new workers, new online ${newOnline}/${booting + newOnline}, old draining ${dying}`;
}
