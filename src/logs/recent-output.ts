// The workers' latest output, stdout and stderr in the order naught wrote it, for
// `naught logs`: the files cannot tell which of two lines in different files came first.
// On the log's hot path a group of lines is one copy into a fixed ring and one small
// record; lines are cut and decoded only when someone asks.
import type { WorkerStreamName } from '../bus/messages.js';

export interface OutputLine { stream: WorkerStreamName; text: string }

interface Chunk { stream: WorkerStreamName; start: number; length: number }

export const RECENT_OUTPUT_BYTES = 512 * 1024;
/** Bounds the records too, for output of many tiny writes. */
const MAX_CHUNKS = 16 * 1024;

export class RecentOutput {
  private readonly ring: Buffer;
  /** Bytes ever added: a chunk is still whole while its start is within the ring's size of this. */
  private added = 0;
  private chunks: Chunk[] = [];
  private oldest = 0;

  constructor(bytes = RECENT_OUTPUT_BYTES) {
    this.ring = Buffer.allocUnsafeSlow(bytes);
  }

  /** A group of whole lines (the line framer's); its buffers may be reused after. */
  add(stream: WorkerStreamName, group: readonly Buffer[]): void {
    const size = this.ring.length;
    let length = 0;
    for (const part of group) length += part.length;
    let skip = Math.max(0, length - size); // a group larger than the ring keeps its end
    for (const part of group) {
      if (skip >= part.length) {
        skip -= part.length;
        continue;
      }
      this.copyIn(skip === 0 ? part : part.subarray(skip));
      skip = 0;
    }
    const kept = Math.min(length, size);
    if (kept > 0) this.chunks.push({ stream, start: this.added - kept, length: kept });
    this.forgetOverwritten();
  }

  /** The last `count` lines of the given streams, oldest first. */
  last(count: number, streams: ReadonlySet<WorkerStreamName>): OutputLine[] {
    const found: OutputLine[] = [];
    for (let i = this.chunks.length - 1; i >= this.oldest && found.length < count; i--) {
      const chunk = this.chunks[i]!;
      if (!streams.has(chunk.stream)) continue;
      const lines = this.read(chunk).toString('utf8').split('\n');
      lines.pop(); // a group ends with its last line's newline
      for (let j = lines.length - 1; j >= 0 && found.length < count; j--) found.push({ stream: chunk.stream, text: lines[j]! });
    }
    return found.reverse();
  }

  private copyIn(bytes: Buffer): void {
    const size = this.ring.length;
    let from = 0;
    while (from < bytes.length) {
      const at = this.added % size;
      const copied = bytes.copy(this.ring, at, from, Math.min(bytes.length, from + size - at));
      from += copied;
      this.added += copied;
    }
  }

  private read(chunk: Chunk): Buffer {
    const size = this.ring.length;
    const at = chunk.start % size;
    if (at + chunk.length <= size) return Buffer.from(this.ring.subarray(at, at + chunk.length));
    return Buffer.concat([this.ring.subarray(at), this.ring.subarray(0, chunk.length - (size - at))]);
  }

  /** Chunks whose bytes were partly written over are dropped whole: a tail never starts mid-line. */
  private forgetOverwritten(): void {
    const firstKept = this.added - this.ring.length;
    while (this.oldest < this.chunks.length && this.chunks[this.oldest]!.start < firstKept) this.oldest++;
    if (this.chunks.length - this.oldest > MAX_CHUNKS) this.oldest = this.chunks.length - MAX_CHUNKS;
    if (this.oldest > 1024 && this.oldest * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.oldest);
      this.oldest = 0;
    }
  }
}
