// A log destination as naught names them: a path (rotated by size into gzipped archives
// named `<name>-<ms timestamp><ext>.gz`), `/dev/null` for none, or `-` for our own stream.
import fs from 'node:fs';
import path from 'node:path';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { Writable } from 'node:stream';

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

export interface RotatingLog {
  stream: Writable;
  onRotated(handler: (archive: string) => void): void;
}

/** Creates the folder and opens the file first, so that a bad path fails here, with its reason. */
export async function openRotatingLog(livePath: string, maxSize: number, maxFiles?: number): Promise<RotatingLog> {
  const dir = path.dirname(livePath);
  await fs.promises.mkdir(dir, { recursive: true });
  await (await fs.promises.open(livePath, 'a')).close();
  const base = path.basename(livePath);
  const stream: RotatingFileStream = createStream(
    // With a name generator, rotating-file-stream compresses into exactly the name given.
    (time) => (time === null ? base : `${archiveName(livePath, time instanceof Date ? time : new Date(time))}.gz`),
    { path: dir, size: `${Math.max(1, Math.floor(maxSize))}B`, compress: 'gzip', ...(maxFiles ? { maxFiles } : {}) },
  );
  return {
    stream,
    onRotated: (handler) => stream.on('rotated', (file: string) => handler(path.join(dir, path.basename(file)))),
  };
}
