// Cuts one stream's bytes into whole lines, so that a rotation, which falls between the
// groups it gives, never cuts a line in two. A group is the lines completed by a chunk: a
// slice of the chunk, after copies of the unfinished line's earlier parts (the reader
// reuses its buffer, so a part held for later must be copied). A line longer than the
// bound is given in pieces rather than held.
import { Transform, type TransformCallback } from 'node:stream';

export const MAX_HELD_LINE_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;
const LINE_END = Buffer.from('\n');

export class LineFramer {
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly maxHeldBytes = MAX_HELD_LINE_BYTES) {}

  /** The whole lines `chunk` completes (empty when it ends none); the rest is held. */
  take(chunk: Buffer): Buffer[] {
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline === -1) return this.hold(chunk);
    const group = this.release();
    group.push(lastNewline === chunk.length - 1 ? chunk : chunk.subarray(0, lastNewline + 1));
    this.hold(chunk.subarray(lastNewline + 1));
    return group;
  }

  /** The stream ended inside a line: that unfinished line, ended, so the next starts clean. */
  end(): Buffer[] {
    if (this.heldBytes === 0) return [];
    const group = this.release();
    group.push(LINE_END);
    return group;
  }

  private hold(part: Buffer): Buffer[] {
    if (part.length === 0) return [];
    this.held.push(Buffer.from(part));
    this.heldBytes += part.length;
    return this.heldBytes > this.maxHeldBytes ? this.release() : [];
  }

  private release(): Buffer[] {
    const group = this.held;
    this.held = [];
    this.heldBytes = 0;
    return group;
  }
}

/** A stream of whole lines, each group one chunk, for pipes into a shared terminal. */
export function lineFramed(): Transform {
  const framer = new LineFramer();
  const push = (stream: Transform, group: Buffer[]) => {
    if (group.length > 0) stream.push(group.length === 1 ? group[0] : Buffer.concat(group));
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      push(this, framer.take(chunk));
      done();
    },
    flush(done: TransformCallback) {
      push(this, framer.end());
      done();
    },
  });
}
