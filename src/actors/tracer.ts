// Records every envelope that crosses the daemon's bus into a trace file (`--trace FILE`):
// length-prefixed msgpack frames without records, so that each rotated file reads alone.
// A disk slower than the bus costs trace frames (counted and reported), never memory.
import type { Bus } from '../bus/bus.js';
import type { TraceReport } from '../bus/messages.js';
import { FrameEncoder } from '../bus/codec.js';
import { LogSink } from '../logs/log-sink.js';

const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export interface Tracer {
  /** For status.report: what it recorded, and the frames a slow disk cost. */
  stats(): TraceReport;
  /** Stops recording; resolves once every recorded frame is on disk. */
  close(): Promise<void>;
}

export async function createTracerActor(deps: { bus: Bus; file: string; maxSize: number; maxFiles: number }): Promise<Tracer> {
  const { bus, file } = deps;
  const encoder = new FrameEncoder({ records: false });
  const report = (message: string) => bus.publish({ type: 'notice', code: 'TRACE_DROPPED', message });
  const sink = await LogSink.open({
    path: file,
    maxSize: deps.maxSize,
    // The owner's alone, like the control socket: the trace tells everything the daemon did.
    mode: 0o600,
    ...(deps.maxFiles ? { maxFiles: deps.maxFiles } : {}),
    onFailed: (error) => report(`Error writing the trace ${file}: ${error.message}. Messages are not recorded until it can be written again.`),
    onRecovered: ({ bytes }) => report(`Writing the trace ${file} again; ${bytes} bytes of messages were not recorded meanwhile.`),
  });
  let dropped = 0;
  let droppedInAll = 0;
  const off = bus.onAny((envelope) => {
    if (sink.queuedBytes > MAX_QUEUED_BYTES) {
      dropped++;
      droppedInAll++;
      return;
    }
    if (dropped > 0) {
      const count = dropped;
      dropped = 0;
      report(`The trace ${file} could not keep up: ${count} messages were not recorded.`);
    }
    sink.write(encoder.encode(envelope));
  });
  return {
    stats: () => ({ path: file, bytesWritten: sink.stats.bytesWritten, framesDropped: droppedInAll }),
    close() {
      off();
      return sink.finish();
    },
  };
}
