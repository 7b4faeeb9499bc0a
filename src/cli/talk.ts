// Asking the daemon one thing and rendering its answers: what every command that talks to
// a running daemon shares, and all that `naught status` loads (the entry point's fast path).
import path from 'node:path';
import { MAX_SOCKET_PATH_BYTES } from '../files/owned-paths.js';
import { connectToDaemon, createCliClientActor, type Renderer } from '../actors/cli-client.js';
import { newRequestId } from '../bus/request-id.js';
import type { Message, PoolEvent } from '../bus/messages.js';
import { formatEvent, formatPlugins, formatStatus } from './format.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const refusedMessage = (ipcFile: string): string =>
  `unable to connect to ipc-file \`${ipcFile}\`\n\n1. the ipc file specified is invalid, or\n2. the daemon process died unexpectedly\n`;

type Probe = { state: 'running'; socket: import('node:net').Socket } | { state: 'absent' } | { state: 'refused' } | { state: 'error'; error: NodeJS.ErrnoException };

/** `ipcFile` as the user gave it, which every message prints, as naught 1.6 did. */
export async function probe(ipcFile: string): Promise<Probe> {
  // No daemon can listen there (start refuses the path and says why). Node 20 answers a
  // connect to it with ENOENT, Node 26 with EINVAL: both mean absent.
  if (Buffer.byteLength(path.resolve(ipcFile)) > MAX_SOCKET_PATH_BYTES) return { state: 'absent' };
  try {
    return { state: 'running', socket: await connectToDaemon(path.resolve(ipcFile)) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'absent' };
    if (code === 'ECONNREFUSED') return { state: 'refused' };
    return { state: 'error', error: error as NodeJS.ErrnoException };
  }
}

/** Prints events and notices the way every command does; a renderer handles the rest first. */
export function printOther(io: Io, msg: Message): undefined {
  if (msg.type === 'pool.event' || msg.type === 'pool.reply') io.err(formatEvent(msg) + '\n');
  else if (msg.type === 'notice') io.err(msg.message + '\n');
  return undefined;
}

export const isEvent = (msg: Message, event: PoolEvent['event']): msg is Message & PoolEvent =>
  (msg.type === 'pool.event' || msg.type === 'pool.reply') && msg.event === event;

/** A connection to the daemon, or the exit status after saying why there is none. */
export async function connect(io: Io, ipcFile: string, whenAbsent: number): Promise<import('node:net').Socket | number> {
  const found = await probe(ipcFile);
  if (found.state === 'absent') {
    io.err('server not running\n');
    return whenAbsent;
  }
  if (found.state === 'refused') {
    io.err(refusedMessage(ipcFile));
    return 1;
  }
  if (found.state === 'error') {
    io.err(`unable to connect to ipc-file \`${ipcFile}\`: ${found.error.message}\n`);
    return 1;
  }
  return found.socket;
}

/** Connects, sends one command and renders until the renderer decides. */
export async function talk(
  io: Io, ipcFile: string, whenAbsent: number, command: (requestId: string) => Message, render: Renderer,
  onConnected?: (send: (msg: Message) => void) => void,
): Promise<number> {
  const socket = await connect(io, ipcFile, whenAbsent);
  if (typeof socket === 'number') return socket;
  const client = createCliClientActor(socket, render, () => {
    io.err('the daemon closed the connection before answering\n');
    return 1;
  });
  const send = (msg: Message) => { client.bus.publish(msg); };
  onConnected?.(send);
  send(command(newRequestId()));
  return client.outcome;
}

/** Prints the Status answer on stdout; `status` exits 0 with it, `start` on a running daemon 1. */
export function renderStatus(io: Io, exitCode: number): Renderer {
  let plugins = '';
  return (msg) => {
    if (msg.type === 'plugin.list') {
      plugins = formatPlugins(msg.plugins);
      return undefined;
    }
    if (isEvent(msg, 'Status')) {
      io.out(formatStatus(msg) + plugins);
      return exitCode;
    }
    if (isEvent(msg, 'ErrorStillBooting')) {
      io.err(formatEvent(msg) + '\n');
      return 1;
    }
    return printOther(io, msg);
  };
}

export function status(io: Io, ipcFile: string): Promise<number> {
  return talk(io, ipcFile, 1, (requestId) => ({ type: 'cmd.status', requestId }), renderStatus(io, 0));
}

