// The CLI's end of the bus: connects to the daemon, sends one command, hands each message
// it gets back to the command's renderer until the renderer returns an exit status.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { createBus, type Bus } from '../bus/bus.js';
import { createLink, type Link } from '../bus/link.js';
import { CLIENT_BROADCASTS, REPLY_TYPES, type Message, type MessageType } from '../bus/messages.js';

/** Every reply (the master's deploy.settled is the daemon's alone), and what the daemon tells every client. */
const CLIENT_WANTS: MessageType[] = [...CLIENT_BROADCASTS, ...REPLY_TYPES.filter((type) => type !== 'deploy.settled')];

/**
 * What a renderer decides about a message: keep waiting (undefined), exit with a status,
 * or exit with it once the daemon closes the connection (after a Shutdown: the daemon
 * closes it only once its logs are flushed and its files removed).
 */
export type Verdict = number | undefined | { whenClosed: number };
export type Renderer = (msg: Message) => Verdict;

export interface CliClient {
  bus: Bus;
  link: Link;
  /** Settles with the renderer's exit status, or 1 if the daemon goes away first. */
  outcome: Promise<number>;
}


export function createCliClientActor(stream: Duplex, render: Renderer, onDaemonGone: () => number): CliClient {
  const bus = createBus(`cli:${process.pid}`);
  // The CLI's own deploy environment goes to the daemon, which passes it on to the master.
  const link = createLink(bus, stream, { name: `cli:${process.pid}`, wants: CLIENT_WANTS, carrySecrets: true });
  let settle!: (code: number) => void;
  const outcome = new Promise<number>((resolve) => { settle = resolve; });
  let decided = false;
  let onClose: number | null = null;
  const decide = (code: number) => {
    if (decided) return;
    decided = true;
    off();
    link.close();
    settle(code);
  };
  const off = bus.onAny((envelope, origin) => {
    if (origin !== link) return;
    const verdict = render(envelope.msg);
    if (typeof verdict === 'number') decide(verdict);
    else if (verdict !== undefined) onClose = verdict.whenClosed;
  });
  void link.closed.then(() => { if (!decided) decide(onClose ?? onDaemonGone()); });
  return { bus, link, outcome };
}

/** Resolves with a connected socket, or rejects with the connect error (ENOENT, ECONNREFUSED …). */
export function connectToDaemon(ipcFile: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(ipcFile);
    socket.once('connect', () => { socket.off('error', reject); resolve(socket); });
    socket.once('error', reject);
  });
}
