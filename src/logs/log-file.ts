// A log destination as naught names them: a path (rotated by size into gzipped archives
// named `<name>-<ms timestamp><ext>.gz`, see log-sink.ts), `/dev/null` for none, or `-`
// for our own stream.
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

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

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
const STICKY = 0o1000;

/**
 * Opens a log for appending. In a world-writable sticky folder (/tmp) anyone may plant a
 * symlink under the name we are about to open, to make us append to (or create) a file of
 * their choosing: there a link that is not ours is refused, and nothing else is followed.
 * `mode` applies to a new file, and to an existing one when `enforceMode` (files that are
 * naught's own, such as the trace, whatever an older naught left).
 */
export async function openForAppend(file: string, mode = 0o666, enforceMode = false): Promise<number> {
  let flags = O_WRONLY | O_APPEND | O_CREAT;
  const folder = await fs.promises.stat(path.dirname(file));
  if ((folder.mode & STICKY) !== 0 && (folder.mode & 0o002) !== 0) {
    const link = await fs.promises.lstat(file).catch(() => null);
    const ours = link !== null && link.isSymbolicLink() && link.uid === process.geteuid?.();
    if (link?.isSymbolicLink() && !ours) {
      throw new Error(`refusing to open ${file}: it is a symbolic link owned by another user (uid ${link.uid}) in the world-writable folder ${path.dirname(file)}`);
    }
    if (!ours) flags |= O_NOFOLLOW;
  }
  // A plain descriptor, not a FileHandle: the sink writes with fs.writev on it.
  const fd = await promisify(fs.open)(file, flags, mode);
  if (enforceMode) await promisify(fs.fchmod)(fd, mode).catch((error: Error) => { fs.closeSync(fd); throw error; });
  return fd;
}
