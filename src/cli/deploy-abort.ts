// `naught deploy-abort`, with naught 1.6's lines.
import { isEvent, printOther, talk, type Io } from './talk.js';

export function deployAbort(io: Io, ipcFile: string): Promise<number> {
  return talk(io, ipcFile, 1, (requestId) => ({ type: 'cmd.deploy-abort', requestId }), (msg) => {
    if (isEvent(msg, 'ErrorNoDeployInProgress')) {
      io.err('no deploy in progress\n');
      return 1;
    }
    if (isEvent(msg, 'Ready')) {
      io.err('deploy aborted\n');
      return 0;
    }
    return printOther(io, msg);
  });
}
