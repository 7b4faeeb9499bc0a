// Renders the bus story into naught.log: one line per pool event (replies included), in
// naught's printed form, each notice as its sentence, and at the first boot how workers close.
import type { Bus } from '../bus/bus.js';
import type { ServerConfig } from '../bus/messages.js';
import type { TextSink } from './log-rotator.js';
import { formatEvent } from '../cli/format.js';

export function createEventLogActor(deps: { bus: Bus; sink: TextSink | null }): () => void {
  const { bus, sink } = deps;
  if (sink === null) return () => {};
  const write = (line: string) => { sink.write(line + '\n'); };
  // Right under the first boot's Bootup line, so that naught.log still begins as naught 1.6's.
  let drainLinePending: string | null = null;
  const offs = [
    bus.on('pool.event', (event) => {
      write(formatEvent(event));
      if (event.event === 'Bootup' && drainLinePending !== null) {
        write(drainLinePending);
        drainLinePending = null;
      }
    }),
    bus.on('pool.reply', (event) => write(formatEvent(event))),
    bus.on('notice', (notice) => write(notice.message)),
    bus.on('cmd.boot', ({ config, firstBoot }) => { if (firstBoot) drainLinePending = drainLine(config); }),
  ];
  return () => { for (const off of offs) off(); };
}

/** Said once, at the first boot: how workers will close. */
function drainLine({ drain, drainRecentMs }: ServerConfig): string {
  return drain === 'auto'
    ? `Workers drain on close (--drain auto): keep-alive connections used in the last ${drainRecentMs} ms may still bring a request.`
    : "Workers close as Node does (--drain off): idle keep-alive connections are cut at once.";
}
