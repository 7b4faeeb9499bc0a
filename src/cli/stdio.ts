import type { Io } from './talk.js';

/** What every command prints through: the process's own stdout and stderr. */
export const stdio: Io = {
  out: (text) => { process.stdout.write(text); },
  err: (text) => { process.stderr.write(text); },
};
