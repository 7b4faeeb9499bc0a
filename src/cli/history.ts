// `naught history`.
import { talk, type Io } from './talk.js';
import { formatHistory } from './workers-table.js';

/** `naught history`: the last generations, the running one marked `*`; --json: as the daemon keeps them, environment values masked. */
export function history(io: Io, ipcFile: string, json: boolean): Promise<number> {
  return talk(io, ipcFile, 1, (requestId) => ({ type: 'cmd.history', requestId }), (msg) => {
    if (msg.type !== 'history.list') return undefined;
    io.out(json ? JSON.stringify({ current: msg.current, generations: msg.generations }, null, 2) + '\n' : formatHistory(msg.generations, msg.current));
    return 0;
  });
}
