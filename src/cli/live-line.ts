// One line at the bottom of a terminal, redrawn in place every second and erased at the
// end, under the lines a command prints as ever. Without a terminal it writes nothing:
// scripts get naught 1.6's bytes.
import type { Io } from './talk.js';

export interface LiveLine {
  /** Writes through this: the live line is lifted out of the way of every line. */
  io: Io;
  draw(): void;
  /** Erases the live line; what is printed afterwards is plain. */
  finish(): void;
}

export function createLiveLine(io: Io, tty: boolean, text: (elapsedMs: number) => string, now: () => number = Date.now): LiveLine {
  if (!tty) return { io, draw() {}, finish() {} };
  const started = now();
  let shown = false;
  let finished = false;
  const erase = () => {
    if (shown) io.err('\r\x1b[K');
    shown = false;
  };
  const draw = () => {
    if (finished) return;
    const line = text(now() - started);
    if (finished) return; // text() may have printed, and finished, through io
    io.err(`\r\x1b[K${line}`);
    shown = true;
  };
  const timer = setInterval(draw, 1000);
  timer.unref();
  draw();
  return {
    io: {
      out: (text) => { erase(); io.out(text); draw(); },
      err: (text) => { erase(); io.err(text); draw(); },
    },
    draw,
    finish() {
      finished = true;
      clearInterval(timer);
      erase();
    },
  };
}
