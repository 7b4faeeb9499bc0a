// A log destination as naught names them: a path (rotated by size into gzipped archives
// named `<name>-<ms timestamp><ext>.gz`, see log-sink.ts), `/dev/null` for none, or `-`
// for our own stream.
import path from 'node:path';

export type LogTarget =
  | { kind: 'none' }
  | { kind: 'inherit' }
  | { kind: 'file'; path: string };

export function logTarget(logPath: string): LogTarget {
  if (logPath === '/dev/null') return { kind: 'none' };
  if (logPath === '-') return { kind: 'inherit' };
  return { kind: 'file', path: logPath };
}

export function archiveName(livePath: string, time: Date): string {
  const ext = path.extname(livePath);
  return `${path.basename(livePath, ext)}-${time.getTime()}${ext}`;
}

export const fileOf = (target: LogTarget): string | null => (target.kind === 'file' ? target.path : null);

/** How a child's stdout or stderr is opened: piped to the log, inherited by a foreground naught's `-`, or closed. */
export function childStdio(target: LogTarget, foreground: boolean): 'pipe' | 'ignore' | 'inherit' {
  if (target.kind === 'file') return 'pipe';
  return target.kind === 'inherit' && foreground ? 'inherit' : 'ignore';
}
