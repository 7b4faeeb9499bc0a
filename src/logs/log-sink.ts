// A log file that never stops the service. It appends groups (whole lines, or whole trace
// frames), rotates by size into archives named as naught did and gzipped by the compressor,
// and keeps at most maxFiles of them. When the file fails (folder unwritable, disk full,
// file removed) the failure is reported once, groups meanwhile are dropped and counted
// rather than queued, and writing resumes by itself when the file can be written again.
// It also reopens on demand (logrotate's postrotate).
//
// `write` copies each group into a slab the sink owns and reuses once the group is on disk,
// so a caller may reuse its buffer (the log rotator reads every pipe into one) and a flood
// allocates nothing. Whatever queued while one write was on disk goes out as the next, in
// one writev of whole slab ranges. Everything that touches the file (writes, rotations,
// reopening) runs one at a time in `pump`, so a rotation always falls between groups and
// never cuts one in two.
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { compress, noteLogged } from './compressor.js';
import { countLines } from './count-lines.js';
import { archiveName } from './log-file.js';
import { openForAppend, removeOwnFile } from '../files/owned-paths.js';

/** Where naught.log's lines go: a file's sink, naught's own stderr, or nowhere. */
export interface TextSink { write(text: string): unknown }

/** Whoever hears every group of whole lines a log takes (`naught logs -f`), on the log's hot path. */
export interface LinesHeard { add(stream: 'stdout' | 'stderr', group: readonly Buffer[]): void }

export interface LogSinkOptions {
  path: string;
  maxSize: number;
  /** Archives to keep; unlimited when absent, as naught. */
  maxFiles?: number;
  /** The file's mode, kept even on a file that exists (the trace: 0600); else a new file gets 0666 less the umask. */
  mode?: number;
  retryMs?: number;
  /**
   * How often to check that the file on disk is still the one we write to. The kernel
   * (inotify, through fs.watch) says at once when it is moved or deleted; the poll is for
   * where it cannot. Default 5 s.
   */
  watchMs?: number;
  onRotated?(archive: string): void;
  onFailed?(error: Error): void;
  onRecovered?(dropped: { lines: number; bytes: number }): void;
  onReplaced?(): void;
}

// Callback fs with raw descriptors, not fs.promises' FileHandle: fs.writev takes an fd.
const fstat = promisify(fs.fstat);
const writev = promisify(fs.writev);
const ftruncate = promisify(fs.ftruncate);

/**
 * Past this many queued bytes `write` asks its caller to wait for `onDrain`. Room for a few
 * writes: on a busy machine a write can wait for a thread-pool thread, and pausing the
 * pipes for that stalls the workers (with a quarter of this, a 200 MB flood on 2 cores
 * paused them some 600 times; with this, some 50).
 */
const HIGH_WATER_BYTES = 1024 * 1024;
const SLAB_BYTES = 256 * 1024;
/** A full queue and a write as large in flight: the slabs a flood keeps reusing. */
const SPARE_SLABS = (2 * HIGH_WATER_BYTES) / SLAB_BYTES;

/** Memory groups are copied into; reused from its start once none of its groups waits. */
interface Slab { buffer: Buffer; used: number; groups: number }
/** One group's bytes, contiguous: in a slab, or in a buffer of its own when larger than one. */
interface Group { data: Buffer; slab: Slab | null }
type State = 'open' | 'broken' | 'closed';

export class LogSink {
  private fd: number | null = null;
  private size = 0;
  private inode = 0;
  private state: State = 'broken';
  private queue: Group[] = [];
  private queued = 0;
  private slab: Slab | null = null;
  private spareSlabs: Slab[] = [];
  private writing = 0;
  /** A rotation failed (say, the folder is unwritable): the next write must try it again first. */
  private mustRotate = false;
  /** Work on the file other than writing (reopening, checking), done before the next write. */
  private tasks: (() => Promise<void>)[] = [];
  private pumping = false;
  private drainWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  /** A failure was reported, so its end will be too. */
  private failureReported = false;
  /** A compression failed and was said; said again only after one has worked since. */
  private compressionFailureReported = false;
  private dropped = { lines: 0, bytes: 0 };
  /** The last archive's timestamp: two rotations in one millisecond must not share a name. */
  private lastStamp = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private reopenTries = 0;
  private readonly totals = { bytesWritten: 0, linesWritten: 0, linesDropped: 0, archives: 0 };
  /** The poll of the file on disk, running only while no inotify watch follows it. */
  private stopPolling: (() => void) | null = null;
  private watcher: fs.FSWatcher | null = null;
  private checkTimer: NodeJS.Timeout | null = null;

  /** Opens the file first, so that a bad path fails the caller with its reason. */
  static async open(options: LogSinkOptions): Promise<LogSink> {
    const sink = new LogSink(options);
    try {
      await sink.openFile();
    } catch (error) {
      sink.stopTimers();
      throw error;
    }
    return sink;
  }

  private constructor(private readonly options: LogSinkOptions) {}

  /** Times a broken file was tried again (reopened): what a test can wait on. */
  get reopenAttempts(): number {
    return this.reopenTries;
  }

  get path(): string {
    return this.options.path;
  }

  /** What this sink did since it was opened, for `status --json` and metrics. */
  get stats(): { bytesWritten: number; linesWritten: number; linesDropped: number; archives: number } {
    return { ...this.totals };
  }

  /** `broken` while writes fail (they are dropped, and counted, until a retry reopens the file). */
  get status(): State {
    return this.state;
  }

  /** Bytes not yet on disk, those of the write under way included. */
  get queuedBytes(): number {
    return this.queued + this.writing;
  }

  /**
   * Appends one group, kept whole in one file, and copies it: the caller may reuse its
   * buffers at once. False when the caller should wait for `onDrain`.
   */
  write(group: Buffer | string | Buffer[]): boolean {
    const parts = typeof group === 'string' ? [Buffer.from(group)] : Array.isArray(group) ? group : [group];
    const bytes = parts.reduce((sum, part) => sum + part.length, 0);
    if (bytes === 0) return true;
    if (this.state !== 'open') {
      if (this.state === 'broken') this.drop(parts);
      return true;
    }
    this.queue.push(this.copy(parts, bytes));
    this.queued += bytes;
    void this.pump();
    return this.queued < HIGH_WATER_BYTES;
  }

  onDrain(callback: () => void): void {
    this.drainWaiters.push(callback);
  }

  /** Opens the file at its path again; writes move to it without a gap. */
  reopen(): Promise<void> {
    return this.run(() => this.openFile().catch((error: Error) => this.fail(error)));
  }

  /** Writes what is queued, then closes the file; later writes are ignored. */
  async finish(): Promise<void> {
    if (this.pumping) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.state = 'closed';
    this.stopTimers();
    this.closeFd();
  }

  /** Runs `task` in its turn between writes; resolves when it has run. */
  private run(task: () => Promise<void>): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      // A task handles its own failures; this only keeps one that did not from stopping the pump.
      this.tasks.push(() => task().catch(() => {}).finally(resolve));
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    for (;;) {
      const task = this.tasks.shift();
      if (task) {
        await task();
        continue;
      }
      const next = this.queue[0];
      if (!next || this.fd === null) break;
      if (this.size > 0 && (this.mustRotate || this.size + next.data.length > this.options.maxSize)) {
        await this.rotate().catch((error: Error) => this.fail(error));
      } else {
        await this.writeBatch(this.takeBatch());
        if (this.queued < HIGH_WATER_BYTES) this.drained();
      }
    }
    this.pumping = false;
    this.drained();
    for (const waiter of this.idleWaiters.splice(0)) waiter();
  }

  private drained(): void {
    for (const waiter of this.drainWaiters.splice(0)) waiter();
  }

  /** The queued groups that fit in the file before it must rotate (always at least one). */
  private takeBatch(): Group[] {
    let room = this.options.maxSize - this.size;
    let count = 0;
    while (count < this.queue.length && (count === 0 || this.queue[count]!.data.length <= room)) room -= this.queue[count++]!.data.length;
    const batch = this.queue.splice(0, count);
    for (const group of batch) this.queued -= group.data.length;
    return batch;
  }

  private async writeBatch(batch: Group[]): Promise<void> {
    const fd = this.fd!;
    const parts = contiguous(batch.map((group) => group.data));
    const bytes = batch.reduce((sum, group) => sum + group.data.length, 0);
    this.writing = bytes;
    try {
      await writeAll(fd, parts, bytes);
      this.size += bytes;
      this.totals.bytesWritten += bytes;
      this.totals.linesWritten += countLines(parts);
      noteLogged(bytes);
    } catch (error) {
      // A full disk can take part of a write: cut it off, so that the file holds whole groups only.
      await ftruncate(fd, this.size).catch(() => {});
      this.drop(parts);
      this.fail(error as Error);
      return;
    } finally {
      this.writing = 0;
      for (const group of batch) this.release(group);
    }
    if (this.failureReported) {
      // Recovered only once a write has really landed, not when an open merely succeeded.
      this.failureReported = false;
      this.options.onRecovered?.(this.dropped);
      this.dropped = { lines: 0, bytes: 0 };
    }
  }

  private async rotate(): Promise<void> {
    const stamp = Math.max(Date.now(), this.lastStamp + 1);
    const archive = path.join(path.dirname(this.options.path), archiveName(this.options.path, new Date(stamp)));
    this.mustRotate = false;
    try {
      await fs.promises.rename(this.options.path, archive);
    } catch (error) {
      // Removed under us: its lines are gone with it, and the next open starts a new file.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return this.openFile();
      // Else a line small enough to fit after reopening would land, say all is well, and fail again.
      this.mustRotate = true;
      throw error;
    }
    this.lastStamp = stamp;
    this.totals.archives++;
    void this.compress(archive); // whether or not a new file can be opened: the archive is done
    await this.openFile();
  }

  /**
   * A missing folder is an error that names it, as in naught 1.6: creating folders (as root,
   * often) for a mistyped path would hide the mistake.
   */
  private async openFile(): Promise<void> {
    const folder = path.dirname(this.options.path);
    if (!fs.existsSync(folder)) throw new Error(`the folder ${folder} of ${this.options.path} does not exist`);
    const { mode } = this.options;
    const fd = openForAppend(this.options.path, mode ?? 0o666, mode !== undefined);
    const stats = await fstat(fd);
    this.closeFd();
    this.fd = fd;
    this.size = stats.size;
    this.inode = stats.ino;
    this.state = 'open';
    this.watchFile();
  }

  /** Follows the file just opened: a move or delete ('rename') is checked at once. Writes ('change') are ignored. */
  private watchFile(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.state === 'closed') return;
    try {
      // 'rename': moved or deleted. A deleted file this process holds open only changes its
      // link count, which comes as 'change', as every write does: checked a second later, once.
      const watcher = fs.watch(this.options.path, { persistent: false }, (event) => (event === 'rename' ? this.checkFileOnDisk() : this.checkSoon()));
      watcher.on('error', () => {
        watcher.close();
        this.polling(true);
      });
      this.watcher = watcher;
      this.polling(false);
    } catch {
      // No inotify here, or none left (fs.inotify.max_user_watches): the poll notices, later.
      this.polling(true);
    }
  }

  private checkSoon(): void {
    this.checkTimer ??= setTimeout(() => {
      this.checkTimer = null;
      this.checkFileOnDisk();
    }, CHECK_AFTER_CHANGE_MS).unref();
  }

  /** An idle daemon sets no timer for its files where inotify watches them. */
  private polling(on: boolean): void {
    if (on && !this.stopPolling) this.stopPolling = everyInterval(this.options.watchMs ?? 5_000, () => this.checkFileOnDisk());
    if (!on && this.stopPolling) {
      this.stopPolling();
      this.stopPolling = null;
    }
  }

  private fail(error: Error): void {
    if (this.state !== 'open') return;
    this.state = 'broken';
    this.closeFd();
    for (const group of this.queue.splice(0)) {
      this.drop([group.data]);
      this.release(group);
    }
    this.queued = 0;
    this.report(error);
    this.scheduleRetry();
  }

  /** One report per episode, however many retries fail before a write lands again. */
  private report(error: Error): void {
    if (!this.failureReported) this.options.onFailed?.(error);
    this.failureReported = true;
  }

  private scheduleRetry(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state !== 'broken') return;
      this.reopenTries++;
      void this.run(() => this.openFile().catch(() => this.scheduleRetry()));
    }, this.options.retryMs ?? 1000).unref();
  }

  private copy(parts: Buffer[], bytes: number): Group {
    if (bytes > SLAB_BYTES) return { data: Buffer.concat(parts, bytes), slab: null };
    if (!this.slab || this.slab.used + bytes > SLAB_BYTES) {
      // The slab left behind still holds groups (one with none is empty): `release` keeps it.
      this.slab = this.spareSlabs.pop() ?? { buffer: Buffer.allocUnsafeSlow(SLAB_BYTES), used: 0, groups: 0 };
    }
    const slab = this.slab;
    const start = slab.used;
    for (const part of parts) slab.used += part.copy(slab.buffer, slab.used);
    slab.groups++;
    return { data: slab.buffer.subarray(start, slab.used), slab };
  }

  /** The group is on disk or dropped: its slab is free again once no other group waits in it. */
  private release(group: Group): void {
    const slab = group.slab;
    if (!slab || --slab.groups > 0) return;
    slab.used = 0;
    if (slab !== this.slab && this.spareSlabs.length < SPARE_SLABS) this.spareSlabs.push(slab);
  }

  private drop(parts: Buffer[]): void {
    for (const part of parts) {
      this.dropped.bytes += part.length;
      const lines = countLines([part]);
      this.dropped.lines += lines;
      this.totals.linesDropped += lines;
    }
  }

  /** A file deleted or moved under us (by hand, or by logrotate without a reopen) is replaced. */
  private checkFileOnDisk(): void {
    if (this.state !== 'open' || this.tasks.length > 0) return;
    void this.run(async () => {
      if (this.state !== 'open') return;
      const inode = await fs.promises.stat(this.options.path).then((s) => s.ino, () => 0);
      if (inode === this.inode) return;
      this.options.onReplaced?.();
      await this.openFile().catch((error: Error) => this.fail(error));
    });
  }

  private closeFd(): void {
    if (this.fd !== null) fs.close(this.fd, () => {});
    this.fd = null;
  }

  private async compress(renamed: string): Promise<void> {
    try {
      await compress(renamed);
    } catch (error) {
      // The rotated lines stay in the uncompressed file; say so (once) rather than lose them.
      // Not a write failure: no write waits on it, and the next write is no recovery.
      if (!this.compressionFailureReported) this.options.onFailed?.(new Error(`could not compress ${renamed}: ${(error as Error).message}`));
      this.compressionFailureReported = true;
      return;
    }
    this.compressionFailureReported = false;
    this.options.onRotated?.(`${renamed}.gz`);
    await this.pruneArchives();
  }

  private async pruneArchives(): Promise<void> {
    const { maxFiles } = this.options;
    if (!maxFiles) return;
    const dir = path.dirname(this.options.path);
    const ext = path.extname(this.options.path);
    const pattern = new RegExp(`^${escape(path.basename(this.options.path, ext))}-(\\d+)${escape(ext)}\\.gz$`);
    const archives = (await fs.promises.readdir(dir))
      .map((name) => ({ name, time: Number(pattern.exec(name)?.[1] ?? NaN) }))
      .filter((a) => !Number.isNaN(a.time))
      .sort((a, b) => a.time - b.time);
    for (const old of archives.slice(0, Math.max(0, archives.length - maxFiles))) {
      removeOwnFile(path.join(dir, old.name));
    }
  }

  private stopTimers(): void {
    this.polling(false);
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = null;
    this.watcher?.close();
    this.watcher = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}

/** Writes every byte of `parts`, however many writes that takes; rejects with the reason it could not. */
async function writeAll(fd: number, parts: Buffer[], bytes: number): Promise<void> {
  let written = 0;
  while (written < bytes) {
    const rest = written === 0 ? parts : remainder(parts, written);
    const { bytesWritten: wrote } = await writev(fd, rest);
    if (wrote === 0) throw new Error('the file takes no more bytes');
    written += wrote;
  }
}

/** Joins neighbouring ranges of one slab, so that a batch is a few iovecs, not one per group. */
function contiguous(parts: Buffer[]): Buffer[] {
  const joined: Buffer[] = [];
  for (const part of parts) {
    const last = joined[joined.length - 1];
    if (last && last.buffer === part.buffer && last.byteOffset + last.length === part.byteOffset) {
      joined[joined.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + part.length);
    } else joined.push(part);
  }
  return joined;
}

function remainder(parts: Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const part of parts) {
    if (skip >= part.length) skip -= part.length;
    else {
      rest.push(skip > 0 ? part.subarray(skip) : part);
      skip = 0;
    }
  }
  return rest;
}

const CHECK_AFTER_CHANGE_MS = 1_000;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One timer for every sink that polls at the same interval (every 5 s, and only where
 * inotify is missing): three logs and a trace wake the daemon once a period, not four times.
 */
const sharedTimers = new Map<number, { timer: NodeJS.Timeout; tasks: Set<() => void> }>();

function everyInterval(ms: number, task: () => void): () => void {
  let shared = sharedTimers.get(ms);
  if (!shared) {
    const tasks = new Set<() => void>();
    shared = { timer: setInterval(() => { for (const each of tasks) each(); }, ms).unref(), tasks };
    sharedTimers.set(ms, shared);
  }
  const { tasks, timer } = shared;
  tasks.add(task);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    tasks.delete(task);
    if (tasks.size > 0) return;
    clearInterval(timer);
    sharedTimers.delete(ms);
  };
}

