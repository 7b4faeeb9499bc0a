// A log file that never stops the service. rotating-file-stream does the size rotation
// and gzip; this wraps it so that a failure (folder unwritable, disk full, file removed)
// is reported once, the lines meanwhile are dropped and counted rather than queued, and
// writing resumes by itself when the file can be opened again. It also reopens on demand
// (logrotate's postrotate) and keeps at most maxFiles archives.
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import { compress } from './compressor.js';
import { archiveName } from './log-file.js';

export interface LogSinkOptions {
  path: string;
  maxSize: number;
  /** Archives to keep; unlimited when absent, as naught. */
  maxFiles?: number;
  retryMs?: number;
  /** How often to check that the file on disk is still the one we write to. */
  watchMs?: number;
  onRotated?(archive: string): void;
  onFailed?(error: Error): void;
  onRecovered?(dropped: { lines: number; bytes: number }): void;
  onReplaced?(): void;
}

type State = 'open' | 'broken' | 'closed';

export class LogSink extends Writable {
  private file: RotatingFileStream | null = null;
  private state: State = 'broken';
  /** A failure was reported, so its end will be too. */
  private failureReported = false;
  private inode = 0;
  /** The last archive's timestamp: two rotations in one millisecond must not share a name. */
  private lastStamp = 0;
  private rotating = false;
  private dropped = { lines: 0, bytes: 0 };
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly watchTimer: NodeJS.Timeout;

  /** Opens the file first, so that a bad path fails the caller with its reason. */
  static async open(options: LogSinkOptions): Promise<LogSink> {
    const sink = new LogSink(options);
    try {
      await sink.openFile();
    } catch (error) {
      sink.destroy();
      throw error;
    }
    return sink;
  }

  private constructor(private readonly options: LogSinkOptions) {
    super({ highWaterMark: 256 * 1024 });
    this.watchTimer = setInterval(() => void this.checkFileOnDisk(), options.watchMs ?? 1000).unref();
  }

  /** Ends the sink; resolves once what was written is on disk, or the file has failed. */
  finish(): Promise<void> {
    return new Promise((resolve) => {
      this.once('error', () => resolve());
      this.end(() => resolve());
    });
  }

  /** Opens the file at its path again; writes move to it without a gap. */
  async reopen(): Promise<void> {
    if (this.state === 'closed') return;
    try {
      await this.openFile();
    } catch (error) {
      this.fail(error as Error);
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const file = this.file;
    if (this.state !== 'open' || !file) {
      this.drop(chunk);
      return done();
    }
    file.write(chunk, (error) => {
      if (error) {
        this.drop(chunk);
        this.fail(error);
      } else if (this.failureReported) {
        // Recovered only once a write has really landed, not when an open merely succeeded.
        this.failureReported = false;
        this.options.onRecovered?.(this.dropped);
        this.dropped = { lines: 0, bytes: 0 };
      }
      done();
    });
  }

  /** Everything buffered while the last write was on disk goes out as one write. */
  override _writev(chunks: { chunk: Buffer }[], done: (error?: Error | null) => void): void {
    this._write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), 'binary', done);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.state = 'closed';
    this.stopTimers();
    void this.closeFile().then(() => done(), () => done());
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.state = 'closed';
    this.stopTimers();
    this.file?.destroy();
    done(error);
  }

  private async openFile(): Promise<void> {
    const dir = path.dirname(this.options.path);
    await fs.promises.mkdir(dir, { recursive: true });
    await (await fs.promises.open(this.options.path, 'a')).close();
    const base = path.basename(this.options.path);
    // rotating-file-stream renames; our compressor gzips, at a lower priority.
    const file = createStream(
      (time, index = 1) => (time === null ? base : archiveName(this.options.path, new Date(this.archiveStamp(time, index)))),
      { path: dir, size: `${Math.max(1, Math.floor(this.options.maxSize))}B` },
    );
    file.on('error', (error: Error) => { if (this.file === file) this.fail(error); });
    file.on('rotation', () => { this.rotating = true; });
    file.on('open', () => { this.rotating = false; void this.rememberInode(); });
    file.on('rotated', (name: string) => {
      this.lastStamp = Number(/-(\d+)[^-]*$/.exec(name)?.[1] ?? this.lastStamp);
      void this.compress(path.join(dir, path.basename(name)));
    });
    const previous = this.file;
    this.file = file;
    this.inode = (await fs.promises.stat(this.options.path)).ino;
    previous?.end();
    this.state = 'open';
  }

  private fail(error: Error): void {
    if (this.state !== 'open') return;
    this.state = 'broken';
    this.file?.destroy();
    this.file = null;
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
      this.openFile().catch(() => this.scheduleRetry());
    }, this.options.retryMs ?? 1000).unref();
  }

  private drop(chunk: Buffer): void {
    this.dropped.bytes += chunk.length;
    for (const byte of chunk) if (byte === 0x0a) this.dropped.lines++;
  }

  /** A file deleted or moved under us (by hand, or by logrotate without a reopen) is replaced. */
  private async checkFileOnDisk(): Promise<void> {
    if (this.state !== 'open' || this.rotating) return;
    const inode = await fs.promises.stat(this.options.path).then((s) => s.ino, () => 0);
    if (this.state !== 'open' || this.rotating || inode === this.inode) return;
    this.options.onReplaced?.();
    await this.reopen();
  }

  private async rememberInode(): Promise<void> {
    this.inode = await fs.promises.stat(this.options.path).then((s) => s.ino, () => 0);
  }

  private async closeFile(): Promise<void> {
    const file = this.file;
    this.file = null;
    if (!file) return;
    await new Promise<void>((resolve) => {
      file.once('error', () => resolve());
      file.end(() => resolve());
    });
  }

  private archiveStamp(time: Date | number, index: number): number {
    const ms = time instanceof Date ? time.getTime() : time;
    return Math.max(ms, this.lastStamp + 1) + index - 1;
  }

  private async compress(renamed: string): Promise<void> {
    try {
      await compress(renamed);
    } catch (error) {
      // The rotated lines stay in the uncompressed file; say so (once) rather than lose them.
      this.report(new Error(`could not compress ${renamed}: ${(error as Error).message}`));
      return;
    }
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
      await fs.promises.rm(path.join(dir, old.name), { force: true });
    }
  }

  private stopTimers(): void {
    clearInterval(this.watchTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
