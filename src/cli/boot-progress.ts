// What `start` shows on a terminal while its workers boot: naught's event lines as ever,
// under them one live line (`booting 1/2, 4 s`) redrawn in place and erased at the end,
// and once, after 10 s with a worker still booting, a hint at the usual cause. Nothing
// of it is written when stderr is not a terminal: scripts get naught 1.6's bytes.
import type { Io } from './commands.js';

export const BOOT_HINT_AFTER_MS = 10_000;
export const BOOT_HINT = "Still booting: a worker counts as online once the server calls process.send('online') "
  + '(or online(server) from naught/worker) after it listens. See the README, "The worker protocol".';

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
  if (!tty) return { io, online() {}, finish() {}, hint() {} };
  const started = now();
  let onlineCount = 0;
  let live = '';
  let hinted = false;
  let finished = false;

  const erase = () => {
    if (live !== '') io.err('\r\x1b[K');
    live = '';
  };
  const draw = () => {
    if (finished) return;
    const elapsedMs = now() - started;
    if (!hinted && elapsedMs >= BOOT_HINT_AFTER_MS && onlineCount < total) hint();
    live = `booting ${onlineCount}/${total}, ${Math.floor(elapsedMs / 1000)} s`;
    io.err(`\r\x1b[K${live}`);
  };
  function hint(): void {
    if (hinted) return;
    hinted = true;
    erase();
    io.err(`${BOOT_HINT}\n`);
  }
  const timer = setInterval(draw, 1000);
  timer.unref();
  draw();

  return {
    io: {
      out: (text) => { erase(); io.out(text); draw(); },
      err: (text) => { erase(); io.err(text); draw(); },
    },
    online(count) {
      onlineCount = count;
      draw();
    },
    finish() {
      finished = true;
      clearInterval(timer);
      erase();
    },
    hint,
  };
}
