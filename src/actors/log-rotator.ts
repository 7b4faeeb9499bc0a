// Owns the stdout and stderr log files. Worker output is data, not messages: it arrives on
// the master's stdout/stderr pipes and is streamed into the files with back-pressure.
import type { Readable, Writable } from 'node:stream';
import type { Bus } from '../bus/bus.js';
import type { RotatingLog } from '../logs/log-file.js';
import { LineFramer } from '../logs/line-framer.js';

export interface LogRotatorDeps {
  bus: Bus;
  stdout: RotatingLog | null;
  stderr: RotatingLog | null;
}

export interface LogRotator {
  /** Streams a master's output into the files; called again for each new master. */
  attach(stdout: Readable | null, stderr: Readable | null): void;
  close(): Promise<void>;
}

export function createLogRotatorActor({ bus, stdout, stderr }: LogRotatorDeps): LogRotator {
  const failed = new Set<string>();
  for (const [name, log] of [['stdout', stdout], ['stderr', stderr]] as const) {
    if (!log) continue;
    log.onRotated((archive) => bus.publish({ type: 'log.rotated', stream: name, archive }));
    log.stream.on('error', (error: Error) => {
      // Reported once per stream: a broken disk must not flood naught.log.
      if (failed.has(name)) return;
      failed.add(name);
      bus.publish({ type: 'notice', code: 'LOG_WRITE_FAILED', message: `Error writing to the ${name} log: ${error.message}` });
    });
  }
  return {
    attach(out, err) {
      if (out && stdout) out.pipe(new LineFramer()).pipe(stdout.stream, { end: false });
      if (err && stderr) err.pipe(new LineFramer()).pipe(stderr.stream, { end: false });
    },
    async close() {
      await Promise.all([stdout, stderr].map((log) => log && endStream(log.stream)));
    },
  };
}

function endStream(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    stream.once('error', () => resolve());
    stream.end(() => resolve());
  });
}
