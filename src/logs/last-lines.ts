// The last few lines a stream carried. On the log's hot path only the end of each group is
// copied into a fixed buffer; the bytes are decoded into lines only when someone asks.
// For the lines a worker that died wrote to stderr, shown where the user looks.
const MAX_LINE_CHARS = 500;
const NEWLINE = 0x0a;

export class LastLines {
  private readonly kept: Buffer;
  private used = 0;
  /** The kept bytes begin in the middle of a line (the start of it was let go). */
  private cut = false;

  constructor(private readonly max = 20, bytes = 16 * 1024) {
    this.kept = Buffer.allocUnsafe(bytes);
  }

  /** A group of whole lines (the line framer's), in order; its buffers may be reused after. */
  add(group: Buffer[]): void {
    const room = this.kept.length;
    let from = group.length;
    let bytes = 0;
    while (from > 0 && bytes < room) bytes += group[--from]!.length;
    const incoming = Math.min(bytes, room);
    const keep = Math.min(this.used, room - incoming);
    if (keep < this.used) this.cut = this.kept[this.used - keep - 1] !== NEWLINE;
    this.kept.copyWithin(0, this.used - keep, this.used);
    let at = keep;
    let skip = bytes - incoming; // of the first buffer taken, only its end fits
    for (let i = from; i < group.length; i++) {
      const part = group[i]!;
      if (skip > 0 && skip <= part.length) this.cut = part[skip - 1] !== NEWLINE;
      at += part.copy(this.kept, at, Math.min(skip, part.length));
      skip = Math.max(0, skip - part.length);
    }
    this.used = at;
  }

  lines(): string[] {
    const lines = this.kept.toString('utf8', 0, this.used).split('\n');
    lines.pop(); // the kept bytes end with a newline
    if (this.cut) lines.shift();
    return lines.slice(-this.max).map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line));
  }
}
