// Owns the log files: naught.log (written by the event-log actor) and the workers' stdout
// and stderr. Worker output is data, not messages: it arrives on each worker's own pipes
// (handed over by the master) and on the master's, and streams into the files with
// back-pressure, a line at a time per pipe. Failures, recoveries and rotations are
// messages; `cmd.reopen-logs` (naught reopen-logs, SIGUSR2) reopens all.
import net from 'node:net';
import type { Readable } from 'node:stream';
import type { Bus } from '../bus/bus.js';
import type { DaemonConfig, LogName, LogReport, MessageOf, WorkerStreamName } from '../bus/messages.js';
import { LastLines } from '../logs/last-lines.js';
import { logTarget } from '../logs/log-file.js';
import { LineFramer } from '../logs/line-framer.js';
import { LogSink, type LinesHeard, type TextSink } from '../logs/log-sink.js';

export interface LogRotator {
  /** Where naught.log lines go: a file, our stderr (`-` in the foreground) or nowhere. */
  eventSink: TextSink | null;
  /** Streams one of the master's own pipes into its file until the pipe ends. */
  attach(stream: WorkerStreamName, source: Readable | null): void;
  /** The same for a worker's pipe, handed over to us alone: reads land in one reused buffer. */
  adopt(stream: WorkerStreamName, pipe: net.Socket, pid: number): void;
  /** Each log file's counts since the daemon started. */
  stats(): LogReport[];
  close(): Promise<void>;
}

export async function createLogRotatorActor(deps: { bus: Bus; config: DaemonConfig; foreground: boolean; feed?: LinesHeard }): Promise<LogRotator> {
  const { bus, config, foreground, feed } = deps;
  const open = (name: LogName, logPath: string) => {
    const target = logTarget(logPath);
    return target.kind === 'file' ? openSink(bus, name, target.path, config) : Promise.resolve(null);
  };
  const [events, stdout, stderr] = await Promise.all([open('naught.log', config.log), open('stdout', config.stdout), open('stderr', config.stderr)]);
  const sinks = [events, stdout, stderr].filter((sink): sink is LogSink => sink !== null);

  const off = bus.on('cmd.reopen-logs', ({ requestId }) => {
    void Promise.all(sinks.map((sink) => sink.reopen())).then(() => bus.publish({ type: 'logs.reopened', requestId }));
  });
  const sinkFor = (stream: WorkerStreamName) => (stream === 'stdout' ? stdout : stderr);
  // Shared by every worker's pipe: a read is handled, and copied, before the next one starts.
  const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  const lastWords = createLastWords(bus);
  return {
    eventSink: events ?? (logTarget(config.log).kind === 'inherit' && foreground ? process.stderr : null),
    attach(stream, source) {
      const sink = sinkFor(stream);
      if (!source) return;
      if (!sink) return void source.resume();
      source.on('error', () => {}); // a pipe's end going away is its 'end'
      const lines = feeder(sink, (group) => feed?.add(stream, group), () => source.resume());
      source.on('data', (chunk: Buffer) => {
        if (!lines.take(chunk)) source.pause();
      });
      source.on('end', lines.end);
    },
    adopt(stream, pipe, pid) {
      const sink = sinkFor(stream);
      if (!sink) return void pipe.resume();
      const tail = stream === 'stderr' && pid > 0 ? lastWords.follow(pid) : null;
      const lines = feeder(sink, (group) => {
        tail?.lines.add(group);
        feed?.add(stream, group);
      }, () => reader.resume());
      const reader = readInto(readBuffer, pipe, lines.take);
      reader.on('error', () => {});
      reader.on('end', () => {
        lines.end();
        tail?.ended();
      });
    },
    stats() {
      const named: [LogName, LogSink | null][] = [['naught.log', events], ['stdout', stdout], ['stderr', stderr]];
      return named.flatMap(([name, sink]) => (sink ? [{ name, path: sink.path, ...sink.stats }] : []));
    },
    async close() {
      off();
      lastWords.stop();
      await Promise.all(sinks.map((sink) => sink.finish()));
    },
  };
}

/**
 * Cuts a pipe's bytes into lines for `sink`, showing each group to `seen` first; `take`
 * says false when the pipe must pause until `resume`.
 */
function feeder(sink: LogSink, seen: (group: Buffer[]) => void, resume: () => void) {
  const lines = new LineFramer();
  return {
    take(data: Buffer): boolean {
      const group = lines.take(data);
      if (group.length === 0) return true;
      seen(group);
      if (sink.write(group)) return true;
      sink.onDrain(resume);
      return false;
    },
    end: () => {
      const last = lines.end();
      if (last.length > 0) seen(last);
      sink.write(last);
    },
  };
}

/**
 * The last lines each worker wrote to stderr, until it is gone: a worker that died (an
 * exit code other than 0, or a signal) has them published once both its exit and the end
 * of its pipe are known, so that `start` and `deploy` can show why it died.
 */
function createLastWords(bus: Bus) {
  const MAX_FOLLOWED = 64;
  const followed = new Map<number, { lines: LastLines; ended: boolean; exit: MessageOf<'worker.exited'> | null }>();
  const publishIfDone = (pid: number) => {
    const entry = followed.get(pid);
    if (!entry?.ended || !entry.exit) return;
    followed.delete(pid);
    const { workerId, slot, code, signal } = entry.exit;
    const lines = entry.lines.lines();
    if ((code !== 0 || signal !== null) && lines.length > 0) bus.publish({ type: 'worker.last-words', workerId, slot, pid, lines });
  };
  const off = bus.on('worker.exited', (exit) => {
    const entry = followed.get(exit.pid);
    if (!entry) return;
    entry.exit = exit;
    publishIfDone(exit.pid);
  });
  return {
    follow(pid: number) {
      const entry = { lines: new LastLines(), ended: false, exit: null };
      followed.set(pid, entry);
      // Workers whose exit never comes (a master that died with them) are forgotten oldest first.
      if (followed.size > MAX_FOLLOWED) followed.delete(followed.keys().next().value!);
      return { lines: entry.lines, ended: () => { entry.ended = true; publishIfDone(pid); } };
    },
    stop: off,
  };
}

/** More than a pipe holds: a socket pair (a child's stdio in Node) holds up to ~200 KiB, and fewer reads cost less. */
const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Takes over a pipe's handle with net's `onread`, so that every read lands in `buffer`
 * instead of a new Buffer per read: a flood then allocates nothing for GC to collect, and
 * the daemon's memory does not grow page by page. `onData` must be done with its argument
 * when it returns; returning false pauses the pipe. The socket the pipe came in is left
 * with a stopped handle and is not used again.
 */
function readInto(buffer: Buffer, pipe: net.Socket, onData: (data: Buffer) => boolean): net.Socket {
  const handle = (pipe as unknown as { _handle: { readStop(): number; reading: boolean } })._handle;
  handle.readStop();
  handle.reading = false; // else the new socket believes it reads already
  return new net.Socket({
    handle,
    readable: true,
    writable: false,
    onread: { buffer, callback: (bytes: number) => onData(buffer.subarray(0, bytes)) },
  } as net.SocketConstructorOpts);
}

function openSink(bus: Bus, name: LogName, filePath: string, config: DaemonConfig): Promise<LogSink> {
  return LogSink.open({
    path: filePath,
    maxSize: config.maxLogSize,
    ...(config.maxLogFiles ? { maxFiles: config.maxLogFiles } : {}),
    onRotated: (archive) => bus.publish({ type: 'log.rotated', stream: name, archive }),
    onFailed: (error) => bus.publish({
      type: 'notice', code: 'LOG_WRITE_FAILED',
      message: `Error writing to ${filePath}: ${error.message}. Its lines are dropped until it can be written again.`,
    }),
    onRecovered: ({ lines, bytes }) => bus.publish({
      type: 'notice', code: 'LOG_RECOVERED',
      message: `Writing to ${filePath} again; ${lines} lines (${bytes} bytes) were dropped meanwhile.`,
    }),
    onReplaced: () => bus.publish({ type: 'notice', code: 'LOG_REOPENED', message: `${filePath} was moved or deleted; reopened it.` }),
  });
}
