// Frames: a 4-byte big-endian length, then the msgpack encoding of an envelope.
// Encoder and decoder are per stream: msgpackr's sequential records send an object shape
// once and refer to it afterwards, which halves the cost of small messages and their size.
// The subpaths skip msgpackr's optional native string extractor: loading it costs each
// process more start-up time than it saves on messages this small.
import { Packr } from 'msgpackr/pack';
import { Unpackr } from 'msgpackr/unpack';
import { isMessageType, withoutSecrets, type Envelope } from './messages.js';

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
const HEADER_BYTES = 4;

// A fresh object each time: msgpackr keeps its record state on the options it is given.
// Without records every frame stands alone, as it must in a file read from any rotation.
const codecOptions = (records: boolean) => (records
  ? { sequential: true, moreTypes: false }
  : { useRecords: false, mapsAsObjects: true, moreTypes: false });

export type FrameErrorCode = 'FRAME_TOO_LARGE' | 'FRAME_NOT_MSGPACK' | 'FRAME_BAD_ENVELOPE' | 'FRAME_UNKNOWN_TYPE';

export class FrameError extends Error {
  constructor(readonly code: FrameErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FrameError';
  }
}

export interface EncoderOptions {
  /** msgpackr records: smaller frames, but each depends on those before it. Default true. */
  records?: boolean;
  /**
   * Environment values go out as they are: only for a link toward the master, which forks
   * workers with them. Default false: every other frame carries them masked.
   */
  carrySecrets?: boolean;
}

export class FrameEncoder {
  private readonly packr: Packr;
  private readonly carrySecrets: boolean;

  constructor(options: EncoderOptions = {}) {
    this.packr = new Packr(codecOptions(options.records ?? true));
    this.carrySecrets = options.carrySecrets ?? false;
  }

  encode(envelope: Envelope): Buffer {
    const msg = this.carrySecrets || typeof envelope.msg !== 'object' ? envelope.msg : withoutSecrets(envelope.msg);
    const body = this.packr.pack(msg === envelope.msg ? envelope : { ...envelope, msg });
    const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    frame.writeUInt32BE(body.length, 0);
    body.copy(frame, HEADER_BYTES);
    return frame;
  }
}

/** One self-contained frame, for a stream that carries nothing else (tests, one-shot writes). */
export const encodeFrame = (envelope: Envelope): Buffer => new FrameEncoder().encode(envelope);

/** Checks that a decoded value is an envelope around a message the catalogue knows. */
export function toEnvelope(value: unknown): Envelope {
  if (typeof value !== 'object' || value === null) {
    throw new FrameError('FRAME_BAD_ENVELOPE', 'frame is not an envelope object');
  }
  const { seq, time, sender, msg } = value as Record<string, unknown>;
  if (typeof seq !== 'number' || typeof time !== 'number' || typeof sender !== 'string'
    || typeof msg !== 'object' || msg === null) {
    throw new FrameError('FRAME_BAD_ENVELOPE', 'frame lacks seq, time, sender or msg');
  }
  const type = (msg as { type?: unknown }).type;
  if (!isMessageType(type)) {
    throw new FrameError('FRAME_UNKNOWN_TYPE', `message type ${JSON.stringify(type)} is not in the catalogue`);
  }
  return value as Envelope;
}

/**
 * Turns a byte stream into envelopes. Chunks may split frames anywhere or hold many
 * frames; bytes are copied once into a frame-sized buffer, never re-concatenated.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private decoded = 0;
  private readonly unpackr: Unpackr;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES, records = true) {
    this.unpackr = new Unpackr(codecOptions(records));
  }

  /** Bytes of an unfinished frame; a stream that ends with some has been cut mid-frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Where the next frame starts in the stream: the offset of any damage found next. */
  get decodedBytes(): number {
    return this.decoded;
  }

  push(chunk: Buffer): Envelope[] {
    const out: Envelope[] = [];
    this.feed(chunk, (envelope) => out.push(envelope));
    return out;
  }

  /** Hands over each whole frame in turn, so those before a damaged one are not lost with it. */
  feed(chunk: Buffer, onEnvelope: (envelope: Envelope) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= HEADER_BYTES) {
      const length = this.peekLength();
      if (length > this.maxFrameBytes) {
        throw new FrameError('FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
      }
      if (this.buffered < HEADER_BYTES + length) break;
      this.take(HEADER_BYTES);
      const envelope = this.decodeBody(this.take(length));
      this.decoded += HEADER_BYTES + length;
      onEnvelope(envelope);
    }
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= HEADER_BYTES) return first.readUInt32BE(0);
    const header = Buffer.concat(this.chunks, HEADER_BYTES);
    return header.readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      this.chunks[0] = first.subarray(n);
      if (this.chunks[0].length === 0) this.chunks.shift();
      this.buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.buffered -= n;
    return out;
  }

  private decodeBody(body: Buffer): Envelope {
    let value: unknown;
    try {
      value = this.unpackr.unpack(body);
    } catch (cause) {
      throw new FrameError('FRAME_NOT_MSGPACK', 'frame body is not valid msgpack', { cause });
    }
    return toEnvelope(value);
  }
}


