// Every file and socket path naught opens, creates, renames or removes goes through here:
// the pid file, the history and its temporary file, the trace and the logs and their
// archives, the health socket and the ipc-file.
//
// naught is often run as root in a folder that others may write (/tmp, a shared deploy
// folder). There another user can plant a file or a symlink under a name naught is about
// to use, to make it run their code (a history naming their script), write where they
// chose (a link at the pid file or a temporary file), or delete a file (a "stale socket").
// So, in such a folder, another user's file or symlink is refused with a line naming it and
// its owner; new files are made with O_EXCL|O_NOFOLLOW under names nobody can guess; state
// is read only from files the daemon's user owns and nobody else may write; and only a
// socket is ever removed as a stale socket.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const { O_WRONLY, O_APPEND, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_RDONLY } = fs.constants;

/** The longest unix socket path Linux takes (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

const euid = (): number => process.geteuid?.() ?? 0;

/** A folder whose mode lets a group or everyone create files in it. */
function othersMayWrite(folder: string): boolean {
  return (fs.statSync(folder).mode & 0o022) !== 0;
}

/** `nobody (uid 65534)`: the name from /etc/passwd where it has one. */
function ownerName(uid: number): string {
  try {
    const entry = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.split(':')[2] === String(uid));
    if (entry) return `${entry.split(':')[0]} (uid ${uid})`;
  } catch {
    // No passwd file: the number alone.
  }
  return `uid ${uid}`;
}

function kindOf(stats: fs.Stats): string {
  if (stats.isSymbolicLink()) return 'symbolic link';
  if (stats.isSocket()) return 'socket';
  if (stats.isDirectory()) return 'folder';
  return 'file';
}

/**
 * In a folder others may write, refuses a path that is another user's file or symlink.
 * Returns whether the path is a symlink of our own (which may then be followed).
 */
function refuseForeign(file: string): { shared: boolean; ownLink: boolean } {
  const folder = path.dirname(file);
  if (!othersMayWrite(folder)) return { shared: false, ownLink: false };
  const found = fs.lstatSync(file, { throwIfNoEntry: false });
  if (found && found.uid !== euid()) {
    throw new Error(`refusing ${file}: it is a ${kindOf(found)} owned by another user, ${ownerName(found.uid)}, in ${folder}, a folder others may write`);
  }
  return { shared: true, ownLink: found?.isSymbolicLink() === true };
}

/** Opens with `flags`, refusing another user's planted path and never following a link there. */
function openRefusingForeign(file: string, flags: number, mode: number): number {
  const { shared, ownLink } = refuseForeign(file);
  return fs.openSync(file, shared && !ownLink ? flags | O_NOFOLLOW : flags, mode);
}

/**
 * Opens a log or the trace for appending. `mode` applies to a new file, and to an existing
 * one when `enforceMode` (files that are naught's own, such as the trace, whatever an older
 * naught left). A plain descriptor: the sink writes with fs.writev on it.
 */
export function openForAppend(file: string, mode = 0o666, enforceMode = false): number {
  const fd = openRefusingForeign(file, O_WRONLY | O_APPEND | O_CREAT, mode);
  try {
    if (enforceMode) fs.fchmodSync(fd, mode);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return fd;
}

/** Writes the whole file (the pid file), replacing what it held. */
export function writeFileRefusingForeign(file: string, data: string, mode = 0o644): void {
  const fd = openRefusingForeign(file, O_WRONLY | O_CREAT | O_TRUNC, mode);
  try {
    fs.writeSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `file` whole, never half written: through a new temporary file beside it, made
 * with O_EXCL|O_NOFOLLOW under a random name (a predictable one, followed through a planted
 * link, wrote secrets where another user chose), then renamed over it.
 */
export function replaceFile(file: string, data: string, mode = 0o600): void {
  refuseForeign(file);
  const temporary = `${file}.${crypto.randomBytes(8).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    try {
      fs.writeSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/** Creates a file that must not exist yet (a log archive's .gz): never through a link, never over another file. */
export function createNew(file: string, mode: number): number {
  return fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
}

export class UntrustedState extends Error {}

/**
 * Reads a state file (the history, which names scripts naught will run) only if it is a
 * plain file the daemon's user owns and no group or other user may write. Absent: null.
 * Anything else throws an UntrustedState that says why.
 */
export function readOwnState(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new UntrustedState(`${file} is a symbolic link`);
    throw error;
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile()) throw new UntrustedState(`${file} is not a plain file`);
    if (stats.uid !== euid()) throw new UntrustedState(`${file} is owned by ${ownerName(stats.uid)}, not by ${ownerName(euid())} who runs naught`);
    if ((stats.mode & 0o022) !== 0) throw new UntrustedState(`${file} may be written by others (mode ${(stats.mode & 0o777).toString(8)})`);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes a dead socket's path; anything but a socket there (a file, a typo's target) is refused. */
export function removeSocketPath(file: string): void {
  const found = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!found) return;
  if (!found.isSocket()) throw new Error(`refusing to remove ${file}: it is a ${kindOf(found)}, not a socket`);
  fs.rmSync(file, { force: true });
}

/** Removes a file naught made (the pid file, an archive past --max-log-files), if it still is ours. */
export function removeOwnFile(file: string): void {
  const found = fs.lstatSync(file, { throwIfNoEntry: false });
  if (found && found.uid === euid() && !found.isDirectory()) fs.rmSync(file, { force: true });
}

/**
 * Why a program naught is asked to run (`naught upgrade`'s daemon entry) is not safe to run
 * as this user, or null. It and every folder above it must be owned by root or by naught's
 * user, and writable by no group or other user; a root-owned sticky folder (/tmp) is passed,
 * since there nobody may rename or remove what is ours.
 */
export function unsafeToRun(file: string): string | null {
  let at: string;
  try {
    at = fs.realpathSync(file);
  } catch {
    return `there is no ${file}`;
  }
  for (let step = at; ; step = path.dirname(step)) {
    const stats = fs.statSync(step);
    const what = step === at ? step : `the folder ${step}`;
    if (stats.uid !== 0 && stats.uid !== euid()) return `${what} is owned by ${ownerName(stats.uid)}, not by root or ${ownerName(euid())} who runs naught`;
    const sticky = (stats.mode & 0o1000) !== 0 && stats.uid === 0 && step !== at;
    if ((stats.mode & 0o022) !== 0 && !sticky) return `${what} may be written by others (mode ${(stats.mode & 0o7777).toString(8)})`;
    if (step === path.dirname(step)) return null;
  }
}
