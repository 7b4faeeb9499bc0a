// The daemon's control socket: listens owner-only on the ipc-file, links each client to the
// bus, and routes replies. A reply (REPLY_TYPES in the catalogue) goes to the client that
// asked and to the clients that follow the whole bus (`trace --follow`), never to the rest;
// any other message reaches every client that asked for its type.
//
// After `naught upgrade` has handed the socket over, what this daemon still accepts goes to
// the new daemon (hand-over.ts), and a status asked of it by a client accepted a moment
// before is answered as the new daemon's, which has a full set of workers online.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Bus } from '../bus/bus.js';
import { createLink, type Link } from '../bus/link.js';
import { CONTROL_COMMANDS, REPLY_TYPES, isControlCommand, type Envelope, type Message } from '../bus/messages.js';
import { MAX_SOCKET_PATH_BYTES, removeSocketPath } from '../files/owned-paths.js';

/** A client that stops reading (a stalled `trace --follow`) is dropped past this. */
const CLIENT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Room for a burst of clients: past the backlog a unix socket refuses at once (EAGAIN). */
const CONTROL_BACKLOG = 2048;

export interface ControlSocket {
  /** Listens on the ipc-file, or on the descriptor `naught upgrade` passed this daemon. */
  listen(fd?: number): Promise<void>;
  /** Takes a client connection (one the old daemon accepted after handing over). */
  accept(socket: net.Socket): void;
  /** The server, once listening: `naught upgrade` passes its descriptor on. */
  readonly server: net.Server | null;
  /** The client link a message came from, or null (the master, a plugin host). */
  clientOf(origin: unknown): Link | null;
  /** Settles when the client that sent `requestId` has gone; never if none did. */
  askerGone(requestId: string): Promise<void>;
  /** Handed over by `naught upgrade`: from now on a status is answered by `successorStatus`. */
  handedOver(successorStatus: (requestId: string) => Message[]): void;
  /** Stops listening and removes the socket path. */
  close(): void;
  /** Closes every client link (once they see it, naught.log is complete), and routes nothing more. */
  disconnectClients(): void;
}

export function createControlSocketActor({ bus, ipcFile }: { bus: Bus; ipcFile: string }): ControlSocket {
  const clients = new Set<Link>();
  /** Clients that want everything (`trace --follow`): they see every reply too. */
  const followers = new Set<Link>();
  const askers = new Map<string, Link>();
  let server: net.Server | null = null;
  let successorStatus: ((requestId: string) => Message[]) | null = null;

  const offs = [
    bus.onAny(({ msg }, origin) => {
      if (isControlCommand(msg.type) && 'requestId' in msg && clients.has(origin as Link)) askers.set(msg.requestId, origin as Link);
    }),
    ...REPLY_TYPES.map((type) => bus.on(type, (msg, envelope, origin) => routeReply(msg.requestId, envelope as Envelope, origin))),
  ];

  function routeReply(requestId: string, envelope: Envelope, origin: unknown): void {
    const asker = askers.get(requestId);
    if (asker && asker !== origin && (asker.peerWants?.has(envelope.msg.type) || followers.has(asker))) asker.send(envelope);
    for (const follower of followers) if (follower !== asker && follower !== origin) follower.send(envelope);
  }

  function accept(socket: net.Socket): void {
    const link: Link = createLink(bus, socket, {
      name: 'daemon',
      wants: CONTROL_COMMANDS,
      maxBufferedBytes: CLIENT_MAX_BUFFERED_BYTES,
      routedByOwner: REPLY_TYPES,
      admit: ({ msg }) => successorStatus === null || msg.type !== 'cmd.status',
      onRefused: ({ msg }) => {
        if (msg.type !== 'cmd.status' || !successorStatus) return;
        for (const reply of successorStatus(msg.requestId)) link.tell(reply);
      },
    });
    clients.add(link);
    void link.ready.then((greeted) => { if (greeted && link.peerWants?.has('*')) followers.add(link); });
    void link.closed.then((error) => {
      clients.delete(link);
      followers.delete(link);
      for (const [id, asker] of askers) if (asker === link) askers.delete(id);
      if (error) bus.publish({ type: 'notice', code: 'LINK_CLOSED', message: `Dropped a control connection: ${error.message}` });
    });
  }

  return {
    async listen(fd) {
      server = fd === undefined ? await listenOwnerOnly(ipcFile, accept) : net.createServer(accept).listen({ fd, backlog: CONTROL_BACKLOG });
    },
    accept,
    get server() { return server; },
    clientOf: (origin) => (clients.has(origin as Link) ? origin as Link : null),
    askerGone: (requestId) => askers.get(requestId)?.closed.then(() => {}) ?? new Promise(() => {}),
    handedOver(status) { successorStatus = status; },
    close() {
      server?.close();
      try {
        removeSocketPath(ipcFile);
      } catch {
        // Not a socket any more: somebody else's file now, which stays.
      }
    },
    disconnectClients() {
      for (const off of offs) off();
      for (const client of clients) client.close();
    },
  };
}

/** Listens with a umask that makes the socket 0600: only its owner may deploy or stop. */
async function listenOwnerOnly(ipcFile: string, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  // Longer paths would be cut short silently and the socket made somewhere else.
  if (Buffer.byteLength(ipcFile) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`the ipc-file path ${ipcFile} is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket path may have`);
  }
  await fs.promises.mkdir(path.dirname(ipcFile), { recursive: true });
  const server = net.createServer(onConnection);
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: ipcFile, backlog: CONTROL_BACKLOG }, () => { server.off('error', reject); resolve(); });
    });
  } finally {
    process.umask(previous);
  }
  return server;
}
