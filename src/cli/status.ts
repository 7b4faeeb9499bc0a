// `naught status`: naught 1.6's one line (talk.ts); `--json` and `--workers`: the daemon's
// status.report, as JSON or as a table.
import { createCliClientActor } from '../actors/cli-client.js';
import { newRequestId } from '../bus/request-id.js';
import { connect, probe, type Io } from './talk.js';
import { formatWorkersTable } from './workers-table.js';

export { status } from './talk.js';

/** `status --json` and `status --workers`: the daemon's status.report, as JSON or as a table. */
export async function inspect(io: Io, ipcFile: string, as: 'json' | 'table', colour: boolean): Promise<number> {
  const found = await probe(ipcFile);
  if (found.state !== 'running' && as === 'json') {
    io.out('{"running": false}\n');
    return 1;
  }
  if (found.state !== 'running') return connect(io, ipcFile, 1) as Promise<number>;
  const client = createCliClientActor(found.socket, (msg) => {
    if (msg.type !== 'status.report') return undefined;
    io.out(as === 'json' ? JSON.stringify(msg.report, null, 2) + '\n' : formatWorkersTable(msg.report, colour));
    return 0;
  }, () => {
    io.err('the daemon closed the connection before answering\n');
    return 1;
  });
  client.bus.publish({ type: 'cmd.inspect', requestId: newRequestId() });
  return client.outcome;
}
