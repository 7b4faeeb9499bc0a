// `naught upgrade`: the running daemon hands over to the naught this command comes from.
import { fileURLToPath } from 'node:url';
import { talk, type Io } from './talk.js';
import { formatEvent } from './format.js';
import { createPoolProgress } from './boot-progress.js';

const DAEMON_ENTRY = fileURLToPath(new URL('../bin/daemon.js', import.meta.url));

/**
 * `naught upgrade`: the running daemon hands over to this command's naught, which boots a
 * full set of workers on the same sockets before the old ones drain. Prints the upgrade as
 * a deploy (the new daemon's workers as new_online), then `upgraded naught X -> Y`.
 */
export function upgrade(plainIo: Io, ipcFile: string): Promise<number> {
  const progress = createPoolProgress(plainIo, process.stderr.isTTY === true, 'upgrade');
  const io = progress.io;
  return talk(io, ipcFile, 1, (requestId) => ({ type: 'cmd.upgrade', requestId, daemonEntry: DAEMON_ENTRY }), (msg) => {
    if (msg.type === 'upgrade.progress') {
      if (msg.event) {
        progress.saw(msg.event);
        io.err(formatEvent(msg.event) + '\n');
      }
      if (msg.line) io.err(msg.line + '\n');
      return undefined;
    }
    if (msg.type !== 'upgrade.ended') return undefined;
    progress.finish();
    if (msg.outcome === 'done') io.err(`upgraded naught ${msg.from} -> ${msg.to}\n`);
    else io.err(`naught upgrade: ${msg.reason}\n`);
    return msg.outcome === 'done' ? 0 : 1;
  }).finally(progress.finish);
}
