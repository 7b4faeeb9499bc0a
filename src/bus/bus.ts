import { createNanoEvents, type Unsubscribe } from 'nanoevents';
import type { Envelope, Message, MessageOf, MessageType } from './messages.js';

export type { Unsubscribe };
export type Handler<T extends MessageType> = (msg: MessageOf<T>, envelope: Envelope<MessageOf<T>>, origin: unknown) => void;
/** `origin` is the link an envelope arrived through, so that a link never echoes it back. */
export type EnvelopeHandler = (envelope: Envelope, origin: unknown) => void;

type Events = { [T in MessageType]: Handler<T> } & { '*': EnvelopeHandler };

export interface Bus {
  readonly name: string;
  /** Wraps a message in an envelope from this bus and delivers it. */
  publish(msg: Message): Envelope;
  /** Delivers an envelope made elsewhere (by a link), keeping its sequence, time and sender. */
  deliver(envelope: Envelope, origin?: unknown): void;
  on<T extends MessageType>(type: T, handler: Handler<T>): Unsubscribe;
  onAny(handler: EnvelopeHandler): Unsubscribe;
}

export function createBus(name: string, clock: () => number = Date.now): Bus {
  const emitter = createNanoEvents<Events>();
  let seq = 0;

  function deliver(envelope: Envelope, origin?: unknown): void {
    emitter.emit('*', envelope, origin);
    // The catalogue guarantees msg matches its type; TypeScript cannot follow that through the union.
    (emitter.emit as (type: MessageType, msg: Message, env: Envelope, origin: unknown) => void)(envelope.msg.type, envelope.msg, envelope, origin);
  }

  return {
    name,
    publish(msg) {
      const envelope: Envelope = { seq: ++seq, time: clock(), sender: name, msg };
      deliver(envelope);
      return envelope;
    },
    deliver,
    on: (type, handler) => emitter.on(type, handler as Events[typeof type]),
    onAny: (handler) => emitter.on('*', handler),
  };
}
