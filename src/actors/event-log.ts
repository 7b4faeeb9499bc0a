// Renders the bus story into naught.log: one line per pool event (replies included), in
// naught's printed form, and each notice as its sentence. With naught 1.6's flags and
// nothing naught 1.6 could not do, the file holds exactly naught 1.6's lines: settings
// (the drain mode, say) are told by status --json and the trace, not here.
import type { Bus } from '../bus/bus.js';
import type { TextSink } from '../logs/log-sink.js';
import { formatEvent } from '../pool/event-text.js';

export function createEventLogActor(deps: { bus: Bus; sink: TextSink | null }): () => void {
  const { bus, sink } = deps;
  if (sink === null) return () => {};
  const write = (line: string) => { sink.write(line + '\n'); };
  const offs = [
    bus.on('pool.event', (event) => write(formatEvent(event))),
    bus.on('pool.reply', (event) => write(formatEvent(event))),
    bus.on('notice', (notice) => write(notice.message)),
  ];
  return () => { for (const off of offs) off(); };
}
