// `naught reopen-logs`: after logrotate moved the files (SIGUSR2 does the same).
import { printOther, talk, type Io } from './talk.js';

export function reopenLogs(io: Io, ipcFile: string): Promise<number> {
  return talk(io, ipcFile, 1, (requestId) => ({ type: 'cmd.reopen-logs', requestId }), (msg) => {
    if (msg.type === 'logs.reopened') {
      io.err('logs reopened\n');
      return 0;
    }
    return printOther(io, msg);
  });
}
