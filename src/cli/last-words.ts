// What workers that died wrote last to stderr, printed by `start` and `deploy`.
import type { MessageOf } from '../bus/messages.js';
import type { Io } from './talk.js';

/**
 * On a terminal, what the workers that died wrote last to stderr, after naught's line
 * about the failure: the reason (a MODULE_NOT_FOUND, a stack) is then where one looks.
 */
export function lastWordsPrinter(io: Io, tty: boolean) {
  const heard: MessageOf<'worker.last-words'>[] = [];
  let failed = false;
  const print = ({ slot, pid, lines }: MessageOf<'worker.last-words'>) => {
    io.err(`Worker ${slot} (pid ${pid}) wrote before it died, on stderr:\n${lines.map((line) => `  ${line}\n`).join('')}`);
  };
  return {
    heard(msg: MessageOf<'worker.last-words'>): undefined {
      if (!tty) return undefined;
      if (failed) print(msg);
      else heard.push(msg);
      return undefined;
    },
    /** After naught's line that the boot or deploy failed; later ones print as they come. */
    failed(): void {
      failed = true;
      if (tty) for (const msg of heard.splice(0)) print(msg);
    },
  };
}
