import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function median(values: number[]): number {
  return quantile(values, 0.5);
}

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells.slice(1)) console.log(line(row));
}

export function machine(): { cpus: number; cpuModel: string; node: string; platform: string } {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` };
}

export function writeResult(file: string, data: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
}

/** Replaces (or appends) one `## heading` section of BENCHMARKS.md, leaving the others as they are. */
export function writeBenchmarksSection(root: string, heading: string, section: string): void {
  const file = path.join(root, 'BENCHMARKS.md');
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = before.indexOf(`\n${heading}`);
  const next = start === -1 ? -1 : before.indexOf('\n## ', start + 1);
  const rest = start === -1 ? '' : before.slice(next === -1 ? before.length : next);
  fs.writeFileSync(file, `${(start === -1 ? before : before.slice(0, start)).trimEnd()}\n\n${section}${rest}`);
}

/** A table in Markdown, for BENCHMARKS.md: a header row, its rule, and the rows. */
export function markdownTable(headers: readonly string[], rows: readonly (string | number)[][]): string[] {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
}
