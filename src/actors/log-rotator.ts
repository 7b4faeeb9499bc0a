// Owns the log files: naught.log (written by the event-log actor) and the workers' stdout
// and stderr. Worker output is data, not messages: it arrives on each worker's own pipes
// (handed over by the master) and on the master's, and streams into the files with
// back-pressure, a line at a time per pipe. Failures, recoveries and rotations are
// messages; `cmd.reopen-logs` (naught reopen-logs, SIGUSR2) reopens all.
import type { Readable } from 'node:stream';
import type { Bus } from '../bus/bus.js';
import type { DaemonConfig, LogName, WorkerStreamName } from '../bus/messages.js';
import { logTarget } from '../logs/log-file.js';
import { LineFramer } from '../logs/line-framer.js';
import { LogSink } from '../logs/log-sink.js';

export interface TextSink { write(text: string): unknown }

export interface LogRotator {
  /** Where naught.log lines go: a file, our stderr (`-` in the foreground) or nowhere. */
  eventSink: TextSink | null;
  /** Streams one pipe (a worker's or the master's) into its file until the pipe ends. */
  attach(stream: WorkerStreamName, source: Readable | null): void;
  close(): Promise<void>;
}

export async function createLogRotatorActor(deps: { bus: Bus; config: DaemonConfig; foreground: boolean }): Promise<LogRotator> {
  const { bus, config, foreground } = deps;
  const open = (name: LogName, logPath: string) => {
    const target = logTarget(logPath);
    return target.kind === 'file' ? openSink(bus, name, target.path, config) : Promise.resolve(null);
  };
  const [events, stdout, stderr] = await Promise.all([open('naught.log', config.log), open('stdout', config.stdout), open('stderr', config.stderr)]);
  const sinks = [events, stdout, stderr].filter((sink): sink is LogSink => sink !== null);

  const off = bus.on('cmd.reopen-logs', ({ requestId }) => {
    void Promise.all(sinks.map((sink) => sink.reopen())).then(() => bus.publish({ type: 'logs.reopened', requestId }));
  });
  return {
    eventSink: events ?? (logTarget(config.log).kind === 'inherit' && foreground ? process.stderr : null),
    attach(stream, source) {
      const sink = stream === 'stdout' ? stdout : stderr;
      if (!source) return;
      if (!sink) return void source.resume();
      source.on('error', () => {}); // a worker's end going away is its 'end'
      const lines = new LineFramer();
      const resume = () => source.resume();
      source.on('data', (chunk: Buffer) => {
        const group = lines.take(chunk);
        if (group.length > 0 && !sink.write(group)) {
          source.pause();
          sink.onDrain(resume);
        }
      });
      source.on('end', () => sink.write(lines.end()));
    },
    async close() {
      off();
      await Promise.all(sinks.map((sink) => sink.finish()));
    },
  };
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
