// Frames: a 4-byte big-endian length, then the msgpack encoding of an envelope.
// Encoder and decoder are per stream: msgpackr's sequential records send an object shape
// once and refer to it afterwards, which halves the cost of small messages and their size.
// The subpaths skip msgpackr's optional native string extractor: loading it costs each
// process more start-up time than it saves on messages this small.
import { Packr, RESET_BUFFER_MODE, REUSE_BUFFER_MODE } from 'msgpackr/pack';
import { Unpackr } from 'msgpackr/unpack';
import { isMessageType, withoutSecrets, type Envelope } from './messages.js';

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
const HEADER_BYTES = 4;
/** Small enough for Node's pooled allocation (under 4 KiB), which a single reply uses. */
const MIN_BATCH_BYTES = 2048;

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
    const body = this.body(envelope);
    const frame = Buffer.allocUnsafe(HEADER_BYTES + body.end - body.start);
    frame.writeUInt32BE(body.end - body.start, 0);
    body.copy(frame, HEADER_BYTES, body.start, body.end);
    return frame;
  }

  /**
   * The msgpack body alone, between `start` and `end` of the packer's own buffer, which
   * every call reuses from the same offset: no Buffer per frame, valid until the next call.
   */
  body(envelope: Envelope): PackedBody {
    const msg = this.carrySecrets || typeof envelope.msg !== 'object' ? envelope.msg : withoutSecrets(envelope.msg);
    return this.packr.pack(msg === envelope.msg ? envelope : { ...envelope, msg }, REUSE_BUFFER_MODE | RESET_BUFFER_MODE) as PackedBody;
  }
}

type PackedBody = Buffer & { start: number; end: number };

/**
 * Frames gathered for one write: each body is copied once, straight from the packer, into
 * a buffer sized by the batch before (a flood's batches are large, a reply's small).
 */
export class FrameBatch {
  private buffer: Buffer | null = null;
  private used = 0;
  private capacity = MIN_BATCH_BYTES;

  constructor(private readonly encoder: FrameEncoder) {}

  get bytes(): number {
    return this.used;
  }

  add(envelope: Envelope): void {
    const body = this.encoder.body(envelope);
    const length = body.end - body.start;
    const need = this.used + HEADER_BYTES + length;
    if (this.buffer === null || need > this.buffer.length) {
      while (this.capacity < need) this.capacity *= 2;
      const grown = Buffer.allocUnsafe(this.capacity);
      this.buffer?.copy(grown, 0, 0, this.used);
      this.buffer = grown;
    }
    this.buffer.writeUInt32BE(length, this.used);
    body.copy(this.buffer, this.used + HEADER_BYTES, body.start, body.end);
    this.used = need;
  }

  /** The frames so far, for one write. The next batch gets a new buffer: the stream may still hold this one. */
  take(): Buffer {
    const frames = this.buffer!.subarray(0, this.used);
    this.capacity = MIN_BATCH_BYTES;
    while (this.capacity < this.used) this.capacity *= 2;
    this.buffer = null;
    this.used = 0;
    return frames;
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
 * frames. Frames within a chunk are decoded where they lie; only a frame split across
 * chunks is copied, once, into a frame-sized buffer.
 */
export class FrameDecoder {
  /** The start of a frame the chunks so far hold only part of. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private decoded = 0;
  private readonly unpackr: Unpackr;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES, records = true) {
    this.unpackr = new Unpackr(codecOptions(records));
  }

  /** Bytes of an unfinished frame; a stream that ends with some has been cut mid-frame. */
  get pendingBytes(): number {
    return this.heldBytes;
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
    let at = 0;
    if (this.heldBytes > 0) {
      at = this.completeHeld(chunk, onEnvelope);
      if (at < 0) return;
    }
    while (chunk.length - at >= HEADER_BYTES) {
      const length = this.checkedLength(chunk.readUInt32BE(at));
      const end = at + HEADER_BYTES + length;
      if (end > chunk.length) break;
      onEnvelope(this.decodeBody(chunk, at + HEADER_BYTES, end));
      at = end;
    }
    if (at < chunk.length) {
      this.held.push(at === 0 ? chunk : chunk.subarray(at));
      this.heldBytes += chunk.length - at;
    }
  }

  /** Finishes the held frame with the start of `chunk`: how much of it that took, or -1 if not enough. */
  private completeHeld(chunk: Buffer, onEnvelope: (envelope: Envelope) => void): number {
    const available = this.heldBytes + chunk.length;
    if (available < HEADER_BYTES) return this.hold(chunk);
    const header = this.held[0]!.length >= HEADER_BYTES ? this.held[0]! : Buffer.concat([...this.held, chunk], HEADER_BYTES);
    const frameBytes = HEADER_BYTES + this.checkedLength(header.readUInt32BE(0));
    if (available < frameBytes) return this.hold(chunk);
    const frame = Buffer.allocUnsafe(frameBytes);
    let filled = 0;
    for (const part of this.held) filled += part.copy(frame, filled);
    const taken = chunk.copy(frame, filled, 0, frameBytes - filled);
    this.held = [];
    this.heldBytes = 0;
    onEnvelope(this.decodeBody(frame, HEADER_BYTES, frameBytes));
    return taken;
  }

  private hold(chunk: Buffer): -1 {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    return -1;
  }

  private checkedLength(length: number): number {
    if (length > this.maxFrameBytes) {
      throw new FrameError('FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    return length;
  }

  private decodeBody(source: Buffer, start: number, end: number): Envelope {
    let value: unknown;
    try {
      value = this.unpackr.unpack(source, { start, end });
    } catch (cause) {
      throw new FrameError('FRAME_NOT_MSGPACK', 'frame body is not valid msgpack', { cause });
    }
    const envelope = toEnvelope(value);
    this.decoded += HEADER_BYTES + end - start;
    return envelope;
  }
}
