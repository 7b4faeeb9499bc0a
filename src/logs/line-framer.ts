// Passes only whole lines, so that a rotation, which happens between writes, never cuts
// a line in two. A line longer than the bound is passed on in pieces rather than held.
import { Transform, type TransformCallback } from 'node:stream';

export const MAX_HELD_LINE_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

export class LineFramer extends Transform {
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly maxHeldBytes = MAX_HELD_LINE_BYTES) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline === -1) {
      this.hold(chunk);
    } else {
      this.push(this.release(chunk.subarray(0, lastNewline + 1)));
      this.hold(chunk.subarray(lastNewline + 1));
    }
    done();
  }

  /** The stream ended inside a line: that unfinished line is kept, and ended so the next starts clean. */
  override _flush(done: TransformCallback): void {
    if (this.heldBytes > 0) this.push(Buffer.concat([...this.held, Buffer.from('\n')]));
    this.held = [];
    this.heldBytes = 0;
    done();
  }

  private hold(part: Buffer): void {
    if (part.length === 0) return;
    this.held.push(part);
    this.heldBytes += part.length;
    if (this.heldBytes > this.maxHeldBytes) this.push(this.release());
  }

  private release(tail?: Buffer): Buffer {
    const parts = tail ? [...this.held, tail] : this.held;
    this.held = [];
    this.heldBytes = 0;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}
