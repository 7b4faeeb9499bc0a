// `naught stop`: waits for the daemon's Shutdown, and for it to close the connection once
// its logs are flushed and its files removed.
import { isEvent, printOther, talk, type Io } from './talk.js';
import { createPoolProgress } from './boot-progress.js';

export function stop(plainIo: Io, ipcFile: string, timeoutMs: number | null): Promise<number> {
  const progress = createPoolProgress(plainIo, process.stderr.isTTY === true, 'stop');
  const io = progress.io;
  return talk(io, ipcFile, 0, (requestId) => ({ type: 'cmd.stop', requestId, timeoutMs }), (msg) => {
    if (msg.type === 'pool.event') progress.saw(msg);
    if (isEvent(msg, 'Shutdown')) {
      progress.finish();
      return { whenClosed: 0 };
    }
    if (isEvent(msg, 'AlreadyShuttingDown')) {
      io.err('Waiting for shutdown already in progress.\nIf it hangs, Ctrl+C this command and try it again with --timeout 1\n');
      return undefined;
    }
    return printOther(io, msg);
  }).finally(progress.finish);
}
