// The last few lines a stream carried, kept cheaply: only the end of each group is decoded.
// For the lines a worker that died wrote to stderr, shown where the user looks.
const MAX_LINE_CHARS = 500;

export class LastLines {
  private kept: string[] = [];

  constructor(private readonly max = 20) {}

  /** A group of whole lines (the line framer's), in order. */
  add(group: Buffer[]): void {
    let bytes = 0;
    let from = group.length;
    // Enough of the group's end for max lines of MAX_LINE_CHARS each, at most.
    while (from > 0 && bytes < this.max * MAX_LINE_CHARS * 4) bytes += group[--from]!.length;
    const text = Buffer.concat(group.slice(from)).toString('utf8');
    const lines = text.split('\n');
    lines.pop(); // the group ends with a newline
    if (from > 0) lines.shift(); // maybe cut at its start
    for (const line of lines.slice(-this.max)) this.kept.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
    if (this.kept.length > this.max) this.kept = this.kept.slice(-this.max);
  }

  lines(): string[] {
    return [...this.kept];
  }
}
