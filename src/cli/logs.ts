// `naught logs`: the workers' output as naught wrote it. From a running daemon, stdout and
// stderr come interleaved in their true order, and --follow keeps them coming; without
// one, the files' last lines are all there is, and their order between files is unknown.
import fs from 'node:fs';
import type { Duplex, Writable } from 'node:stream';
import { createCliClientActor } from '../actors/cli-client.js';
import { newRequestId } from '../bus/request-id.js';
import type { WorkerStreamName } from '../bus/messages.js';
import { countLines } from '../logs/count-lines.js';
import { probe, type Io } from './talk.js';

export interface LogsOptions {
  lines: number;
  /** Both streams are tagged; one alone prints as its file holds it. */
  streams: WorkerStreamName[];
  follow: boolean;
  /** Read when no daemon answers. */
  files: Record<WorkerStreamName, string>;
}


const TAGS: Record<WorkerStreamName, string> = { stdout: 'stdout | ', stderr: 'stderr | ' };
const NEWLINE = 0x0a;
const READ_BACK_BYTES = 64 * 1024;

/**
 * Prints to `output` what the daemon sends. When `output` is full (a slow terminal, a
 * paused pipe) the socket is read no further until it drains, so the daemon sees this
 * reader fall behind, instead of this process holding the flood in memory.
 */
export function logsFromDaemon(io: Io, output: Writable, socket: Duplex, options: LogsOptions): Promise<number> {
  const tagged = options.streams.length > 1;
  // Part of a line longer than a piece, per stream, until its end arrives.
  const held: Record<WorkerStreamName, Buffer | null> = { stdout: null, stderr: null };
  let paused = false;
  const print = (stream: WorkerStreamName, lines: string[]) => {
    if (lines.length === 0) return;
    if (output.write(lines.map((line) => (tagged ? TAGS[stream] + line : line)).join('\n') + '\n') || paused) return;
    paused = true;
    socket.pause();
    output.once('drain', () => {
      paused = false;
      socket.resume();
    });
  };
  const flushHeld = () => {
    for (const stream of options.streams) {
      const rest = held[stream];
      held[stream] = null;
      if (rest) print(stream, [rest.toString('utf8')]);
    }
  };
  const client = createCliClientActor(socket, (msg) => {
    if (msg.type === 'logs.lines') {
      const part = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
      const data = held[msg.stream] ? Buffer.concat([held[msg.stream]!, part]) : part;
      const end = data.lastIndexOf(NEWLINE);
      held[msg.stream] = end === data.length - 1 ? null : Buffer.from(data.subarray(end + 1));
      if (end >= 0) print(msg.stream, data.toString('utf8', 0, end).split('\n'));
      return undefined;
    }
    if (msg.type === 'logs.missed') {
      io.err(`naught logs: ${msg.lines} lines not shown here: this reader fell behind (the log files have them)\n`);
      return undefined;
    }
    if (msg.type === 'logs.tailed') {
      for (const stream of options.streams) {
        if (msg.files[stream] === null) io.err(`naught logs: the workers' ${stream} goes to no log file (started with --${stream} - or /dev/null)\n`);
      }
      return msg.following ? undefined : 0;
    }
    if (msg.type === 'pool.event' && msg.event === 'Shutdown') {
      flushHeld();
      return { whenClosed: 0 };
    }
    return undefined;
  }, () => {
    flushHeld();
    io.err('naught logs: the daemon closed the connection\n');
    return 1;
  });
  client.bus.publish({ type: 'cmd.logs', requestId: newRequestId(), lines: options.lines, streams: options.streams, follow: options.follow });
  return client.outcome;
}

/** No daemon answers at `ipcFile`: the files' last lines, stdout's then stderr's. */
export async function logsFromFiles(io: Io, ipcFile: string, options: LogsOptions): Promise<number> {
  const names = options.streams.map((stream) => options.files[stream]);
  io.err(`naught logs: no daemon answers at ${ipcFile}; the last lines of ${names.join(', then of ')}`
    + `${names.length > 1 ? ' (which came first between the two is not known)' : ''}\n`);
  let found = 0;
  for (const stream of options.streams) {
    let lines: string[] | null;
    try {
      lines = await lastLinesOfFile(options.files[stream], options.lines);
    } catch (error) {
      io.err(`naught logs: cannot read ${options.files[stream]}: ${(error as Error).message}\n`);
      return 1;
    }
    if (lines === null) continue;
    found++;
    if (lines.length > 0) io.out(lines.map((line) => (options.streams.length > 1 ? TAGS[stream] + line : line)).join('\n') + '\n');
  }
  if (found === 0) {
    io.err(`naught logs: ${names.length > 1 ? `neither ${names.join(' nor ')} exists` : `${names[0]} does not exist`}\n`);
    return 1;
  }
  if (options.follow) {
    io.err(`naught logs: nothing to follow: no daemon answers at ${ipcFile}\n`);
    return 1;
  }
  return 0;
}

/** The last `count` lines of a file, reading back from its end only as far as needed; null if it does not exist. */
export async function lastLinesOfFile(file: string, count: number): Promise<string[] | null> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    if (count === 0) return [];
    const parts: Buffer[] = [];
    let end = (await handle.stat()).size;
    let newlines = 0;
    // One newline more than lines asked for marks where the first of them begins.
    while (end > 0 && newlines <= count) {
      const start = Math.max(0, end - READ_BACK_BYTES);
      const part = Buffer.allocUnsafe(end - start);
      await handle.read(part, 0, part.length, start);
      parts.unshift(part);
      newlines += countLines(part);
      end = start;
    }
    const lines = Buffer.concat(parts).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/** From the running daemon; without one, from the files. */
export async function logs(io: Io, ipcFile: string, options: LogsOptions): Promise<number> {
  const found = await probe(ipcFile);
  if (found.state === 'running') return logsFromDaemon(io, process.stdout, found.socket, options);
  if (found.state !== 'error') return logsFromFiles(io, ipcFile, options);
  io.err(`unable to connect to ipc-file \`${ipcFile}\`: ${found.error.message}\n`);
  return 1;
}
