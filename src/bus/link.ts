// A link joins two buses over a duplex byte stream (a unix socket, or a pipe on fd 3).
// Each end says in its first frame which message types it wants; a link forwards only
// those, never echoes a message back to where it came from, and closes itself, not its
// process, on bad input.
import type { Duplex } from 'node:stream';
import type { Bus, Unsubscribe } from './bus.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameBatch, FrameDecoder, FrameEncoder, FrameError } from './codec.js';
import { systemClock, type Clock } from './clock.js';
import { createHeartbeat, type Heartbeat, type HeartbeatTiming } from './heartbeat.js';
import { isMessageType, type Envelope, type Message, type MessageType } from './messages.js';

export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const WANT_ALL = '*';

export interface LinkOptions {
  /** This end's name, told to the peer. */
  name: string;
  /** Types this end wants from the peer; `['*']` for all. */
  wants: readonly (MessageType | typeof WANT_ALL)[];
  /** Further filter on what this end sends (e.g. replies only to their asker). */
  accept?: (envelope: Envelope) => boolean;
  maxFrameBytes?: number;
  /** Bytes queued for a peer that does not read, past which the link is dropped. */
  maxBufferedBytes?: number;
  /** What this end takes from the peer; anything else is dropped and reported through onRefused. */
  admit?: (envelope: Envelope) => boolean;
  onRefused?: (envelope: Envelope) => void;
  /**
   * Pings a peer not heard from for intervalMs, or for idleIntervalMs once nothing but its
   * own pings and pongs has crossed the link for twice timeoutMs, so that an idle link
   * wakes nobody; a ping unanswered for timeoutMs (a hung event loop) closes the link.
   */
  heartbeat?: HeartbeatTiming;
  /** The time between two pings `stir` sends while work goes on (the peer's heartbeat intervalMs). */
  stirEveryMs?: number;
  /** The heartbeat's and stir's time; the tests' is simulated. */
  clock?: Clock;
  /** This link leads toward the master: environment values cross it unmasked (messages.ts). */
  carrySecrets?: boolean;
  /**
   * Types this link never takes from the bus: its owner sends them with `send` (the
   * daemon routes each reply to its asker), so that a thousand clients do not each look
   * at every reply.
   */
  routedByOwner?: readonly MessageType[];
}

export type LinkErrorCode = FrameError['code'] | 'LINK_PEER_CUT_MID_FRAME' | 'LINK_PEER_TOO_SLOW' | 'LINK_PEER_UNRESPONSIVE' | 'LINK_STREAM_ERROR';

export class LinkError extends Error {
  constructor(readonly code: LinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LinkError';
  }
}

export interface Link {
  /** The peer's name once its hello has arrived. */
  readonly peerName: string | null;
  /** The types the peer asked for once its hello has arrived (`*` for all). */
  readonly peerWants: ReadonlySet<string> | null;
  /** Sends one envelope regardless of what the peer asked for. */
  send(envelope: Envelope): void;
  /** Sends a message from this end to the peer alone, regardless of what it asked for (a reply its owner routes). */
  tell(msg: Message): void;
  /** Bytes queued for the peer and not yet taken by it: how far behind a reader is. */
  readonly bufferedBytes: number;
  /**
   * False once a ping has gone unanswered for the heartbeat's intervalMs: the peer may be
   * hung (at timeoutMs the link closes). Pings the peer now if it was last heard from
   * over intervalMs ago, so that a caller that asks regularly (a liveness probe, the
   * systemd watchdog) keeps the answer fresh.
   */
  answering(): boolean;
  /**
   * Work happened on this end that the peer's heartbeat should watch (the master handing
   * off connections): sends a ping at most once per stirEveryMs, so that the peer keeps
   * its busy interval while the work lasts. Costs a comparison otherwise.
   */
  stir(): void;
  close(error?: LinkError): void;
  /** Settles once, with the error that closed the link or null for a clean end. */
  readonly closed: Promise<LinkError | null>;
  /** True once the peer's hello has arrived; false if the link closed first. */
  readonly ready: Promise<boolean>;
}

const isHeartbeat = (msg: Message) => msg.type === 'link.ping' || msg.type === 'link.pong';

export function createLink(bus: Bus, stream: Duplex, options: LinkOptions): Link {
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const decoder = new FrameDecoder(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const batch = new FrameBatch(new FrameEncoder({ carrySecrets: options.carrySecrets ?? false }));
  let peerWants: Set<string> | null = null;
  let peerName: string | null = null;
  let beforeHello: Envelope[] = [];
  let flushScheduled = false;
  let isClosed = false;
  let settle!: (error: LinkError | null) => void;
  const closed = new Promise<LinkError | null>((resolve) => { settle = resolve; });
  let greeted!: (ok: boolean) => void;
  const ready = new Promise<boolean>((resolve) => { greeted = resolve; });
  // Envelopes held until the peer says what it wants; no sizes are known yet, so count them.
  const maxBeforeHello = Math.ceil(maxBuffered / 64);
  const unsubscribes: Unsubscribe[] = [];
  const clock = options.clock ?? systemClock;
  const heartbeat: Heartbeat | null = options.heartbeat ? createHeartbeat(options.heartbeat, {
    clock,
    ping: (n) => tell({ type: 'link.ping', n }),
    unresponsive: () => close(new LinkError('LINK_PEER_UNRESPONSIVE', `peer ${peerName ?? '(unnamed)'} did not answer for ${options.heartbeat!.timeoutMs} ms`)),
  }) : null;

  const link: Link = {
    get peerName() { return peerName; },
    get peerWants() { return peerWants; },
    send: enqueue,
    tell,
    get bufferedBytes() { return batch.bytes + stream.writableLength; },
    answering,
    stir,
    close,
    closed,
    ready,
  };

  function wanted(envelope: Envelope): boolean {
    if (peerWants === null) return false;
    const type = envelope.msg.type;
    return (peerWants.has(WANT_ALL) || peerWants.has(type)) && (options.accept?.(envelope) ?? true);
  }

  function enqueue(envelope: Envelope): void {
    if (isClosed) return;
    if (heartbeat && !isHeartbeat(envelope.msg)) heartbeat.busy();
    batch.add(envelope);
    if (batch.bytes + stream.writableLength > maxBuffered) {
      close(new LinkError('LINK_PEER_TOO_SLOW', `peer ${peerName ?? '(unnamed)'} stopped reading: more than ${maxBuffered} bytes queued`));
      return;
    }
    if (!flushScheduled) {
      flushScheduled = true;
      queueMicrotask(flush);
    }
  }

  // Frames published in one turn of the event loop go out in one write.
  function flush(): void {
    flushScheduled = false;
    if (isClosed || batch.bytes === 0) return;
    stream.write(batch.take());
  }

  function onData(chunk: Buffer): void {
    try {
      decoder.feed(chunk, receive);
    } catch (error) {
      const frameError = error as FrameError;
      close(new LinkError(frameError.code ?? 'FRAME_NOT_MSGPACK', `link from ${peerName ?? 'peer'}: ${frameError.message}`, { cause: error }));
    }
  }

  function receive(envelope: Envelope): void {
    if (isClosed) return;
    const msg = envelope.msg;
    // A ping from the peer is its work too (stir); only a pong is the heartbeat's own.
    heartbeat?.heard(msg.type === 'link.pong');
    if (msg.type === 'link.pong') return;
    if (msg.type === 'link.hello') acceptHello(msg.name, msg.wants);
    else if (msg.type === 'link.ping') tell({ type: 'link.pong', n: msg.n });
    else if (options.admit && !options.admit(envelope)) options.onRefused?.(envelope);
    else deliver(envelope);
  }

  /** From this end, never on a bus: the link's own frames (hello, ping, pong), and its owner's replies to this peer alone. */
  function tell(msg: Message): void {
    enqueue({ seq: 0, time: Date.now(), sender: bus.name, msg });
  }

  /** A handler's throw is its own fault, not the frame's: it surfaces as uncaught, and the link reads on. */
  function deliver(envelope: Envelope): void {
    try {
      bus.deliver(envelope, link);
    } catch (error) {
      queueMicrotask(() => { throw error; });
    }
  }

  function acceptHello(name: string, wants: string[]): void {
    peerName = name;
    peerWants = new Set(wants);
    greeted(true);
    const pending = beforeHello;
    beforeHello = [];
    for (const envelope of pending) if (wanted(envelope)) enqueue(envelope);
    subscribeToWanted();
  }

  function onEnd(): void {
    if (decoder.pendingBytes > 0) {
      close(new LinkError('LINK_PEER_CUT_MID_FRAME', `peer ${peerName ?? '(unnamed)'} closed the stream in the middle of a frame`));
    } else {
      close();
    }
  }

  function close(error?: LinkError): void {
    if (isClosed) return;
    if (!error) flush();
    isClosed = true;
    heartbeat?.stop();
    for (const unsubscribe of unsubscribes) unsubscribe();
    stream.off('data', onData);
    if (error) stream.destroy();
    else stream.end();
    settle(error ?? null);
    greeted(false);
  }

  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('close', onEnd);
  stream.on('error', (cause: NodeJS.ErrnoException) => {
    // A peer that exits with our bytes unread resets the connection: that is an end, not a fault.
    if (cause.code === 'ECONNRESET' || cause.code === 'EPIPE') onEnd();
    else close(new LinkError('LINK_STREAM_ERROR', `link to ${peerName ?? 'peer'}: ${cause.message}`, { cause }));
  });
  const routed: ReadonlySet<string> = new Set(options.routedByOwner ?? []);
  const offAny = bus.onAny((envelope, origin) => {
    if (origin === link || routed.has(envelope.msg.type)) return;
    if (peerWants === null) {
      beforeHello.push(envelope);
      if (beforeHello.length > maxBeforeHello) close(new LinkError('LINK_PEER_TOO_SLOW', `peer sent no hello before ${maxBeforeHello} messages were waiting for it`));
      return;
    }
    if (wanted(envelope)) enqueue(envelope);
  });
  unsubscribes.push(offAny);
  /** Once the peer has said what it wants, only those types are looked at. */
  function subscribeToWanted(): void {
    if (peerWants === null || peerWants.has(WANT_ALL)) return;
    offAny();
    for (const type of peerWants) {
      if (!isMessageType(type) || routed.has(type)) continue;
      unsubscribes.push(bus.on(type, (_msg, envelope, origin) => {
        if (origin !== link && (options.accept?.(envelope as Envelope) ?? true)) enqueue(envelope as Envelope);
      }));
    }
  }
  let lastStir = -Infinity;
  tell({ type: 'link.hello', name: options.name, wants: [...options.wants] });

  function answering(): boolean {
    if (isClosed) return false;
    return heartbeat?.answering() ?? true;
  }

  function stir(): void {
    const now = clock.now();
    if (isClosed || now - lastStir < (options.stirEveryMs ?? 1_000)) return;
    lastStir = now;
    tell({ type: 'link.ping', n: 0 });
  }

  return link;
}
