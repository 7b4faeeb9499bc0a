import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { waitFor } from '../helpers/naught.js';
import { LogSink } from '../../src/logs/log-sink.js';
import { finishCompressing } from '../../src/logs/compressor.js';

t.teardown(() => finishCompressing());

/** A folder of its own, removed afterwards; on a tmpfs of `tmpfsSize` when given (needs root). */
const tempDir = (t: Test, tmpfsSize?: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-sink-'));
  if (tmpfsSize) execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${tmpfsSize}`, 'tmpfs', dir]);
  t.teardown(() => {
    if (tmpfsSize) execFileSync('umount', ['-l', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
};
/** A group of whole lines, `bytes` long, that says its number. */
const group = (n: number, bytes: number) => Buffer.from(`${`group ${n} `.padEnd(bytes - 1, '.')}\n`);

/** A sink that keeps its failure and recovery reports, retrying every 20 ms. */
async function watchedSink(file: string, maxSize: number) {
  const failures: string[] = [];
  const recoveries: { lines: number; bytes: number }[] = [];
  const sink = await LogSink.open({
    path: file, maxSize, retryMs: 20,
    onFailed: (error) => failures.push(error.message),
    onRecovered: (dropped) => recoveries.push(dropped),
  });
  /** Writes `line` until one lands and the sink says it recovered. */
  const writeUntilRecovered = (line: Buffer) => waitFor('a write landing again', async () => {
    sink.write(line);
    await new Promise((resolve) => setTimeout(resolve, 30));
    return recoveries.length > 0 || null;
  });
  return { sink, failures, recoveries, writeUntilRecovered };
}

t.test('rotates between groups: archives hold whole groups, in order, each once, none past the size', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'out.log');
  const rotated: string[] = [];
  const sink = await LogSink.open({ path: file, maxSize: 100, onRotated: (archive) => rotated.push(archive) });
  // Two lines of 15 bytes as one group: a rotation must not fall between them.
  const groups = Array.from({ length: 10 }, (_, n) => [group(n, 15), Buffer.from(`${'x'.repeat(14)}\n`)]);
  for (const parts of groups) sink.write(parts);
  await sink.finish();
  await waitFor('the archives compressed', () => rotated.length >= 3 || null);
  await finishCompressing();
  const archives = fs.readdirSync(dir).filter((name) => /^out-\d+\.log\.gz$/.test(name)).sort();
  t.same(archives.map((name) => path.join(dir, name)), [...rotated].sort(), 'every archive is named <name>-<ms><ext>.gz and reported');
  const texts = archives.map((name) => zlib.gunzipSync(fs.readFileSync(path.join(dir, name))).toString());
  t.ok(texts.every((text) => text.length <= 100), `no archive past 100 bytes: ${texts.map((x) => x.length).join(', ')}`);
  t.ok(texts.every((text) => text.length % 30 === 0), 'each holds whole groups');
  t.equal([...texts, fs.readFileSync(file, 'utf8')].join(''), Buffer.concat(groups.flat()).toString(), 'every group once, in order');
});

t.test('a group larger than the size gets a file of its own', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'out.log');
  const sink = await LogSink.open({ path: file, maxSize: 10 });
  sink.write(group(1, 40));
  sink.write(group(2, 40));
  await sink.finish();
  t.equal(fs.readFileSync(file, 'utf8'), group(2, 40).toString());
});

t.test('write asks its caller to wait once 1 MiB waits beside the write under way, and says when it has gone', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'out.log');
  const sink = await LogSink.open({ path: file, maxSize: 1e9 });
  const piece = group(0, 16 * 1024);
  let accepted = 1;
  // The first piece goes to disk at once; the next 64 wait beside it, and the 64th fills 1 MiB.
  while (sink.write(piece)) accepted++;
  t.equal(accepted, 65);
  t.equal(sink.queuedBytes, 65 * 16 * 1024);
  await new Promise<void>((resolve) => sink.onDrain(resolve));
  t.ok(sink.queuedBytes < 1024 * 1024, `drained to ${sink.queuedBytes} bytes`);
  await sink.finish();
  t.equal(fs.statSync(file).size, 65 * 16 * 1024);
});

t.test('write copies: one buffer reused for every write, through many slabs and a group larger than one', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'out.log');
  const sink = await LogSink.open({ path: file, maxSize: 1e9 });
  const reused = Buffer.alloc(64 * 1024);
  const expected: Buffer[] = [];
  const writeVia = (data: Buffer) => {
    data.copy(reused);
    expected.push(Buffer.from(data));
    const more = sink.write(reused.subarray(0, data.length));
    reused.fill('#'); // the caller's buffer is the next read's at once
    return more;
  };
  // 20 MB in groups of various sizes, waiting for drains as the log rotator does, and now and then for a
  // write to land while others queue: every slab is reused many times, some while still partly queued.
  for (let n = 0; n < 1000; n++) {
    if (!writeVia(group(n, 1000 + ((n * 7919) % 40_000)))) await new Promise<void>((resolve) => sink.onDrain(resolve));
    else if (n % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  sink.write([Buffer.alloc(300 * 1024, 'y'), Buffer.from('\n')]); // past a slab: a buffer of its own
  expected.push(Buffer.alloc(300 * 1024, 'y'), Buffer.from('\n'));
  writeVia(group(1000, 50));
  await sink.finish();
  const written = fs.readFileSync(file);
  t.equal(written.length, Buffer.concat(expected).length);
  t.ok(written.equals(Buffer.concat(expected)), 'every group once, in order, none overwritten by a later one');
});

t.test('reopen moves writes to a new file at the path; the old one is left as it was', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'out.log');
  const sink = await LogSink.open({ path: file, maxSize: 1e6 });
  sink.write('before\n');
  await waitFor('the first line', () => fs.readFileSync(file, 'utf8') === 'before\n' || null);
  fs.renameSync(file, `${file}.1`);
  await sink.reopen();
  sink.write('after\n');
  await sink.finish();
  t.equal(fs.readFileSync(`${file}.1`, 'utf8'), 'before\n');
  t.equal(fs.readFileSync(file, 'utf8'), 'after\n');
  t.equal(sink.write('closed\n'), true, 'a write after finish is ignored');
  // Not even queued, so nothing can land later: the file stays as it was.
  t.equal(sink.queuedBytes, 0, 'nothing queued');
  t.equal(fs.readFileSync(file, 'utf8'), 'after\n');
});

t.test('a full disk that takes part of a write has it cut off; one report, then recovery with the count', async (t) => {
  t.equal(process.getuid?.(), 0, 'this test needs root to mount a small tmpfs');
  const dir = tempDir(t, '64k');
  const filler = path.join(dir, 'filler');
  fs.writeFileSync(filler, Buffer.alloc(48 * 1024));
  const file = path.join(dir, 'out.log');
  const { sink, failures, recoveries, writeUntilRecovered } = await watchedSink(file, 1e6);
  sink.write(group(0, 1000));
  // Queued while the first write is on disk, so they go out as one write of 30 kB: more than is left.
  for (let n = 1; n <= 30; n++) sink.write(group(n, 1000));
  await waitFor('the failure', () => failures.length > 0 || null);
  t.match(failures, [/^ENOSPC: no space left on device/]);
  t.equal(fs.readFileSync(file, 'utf8'), group(0, 1000).toString(), 'the part of the write that fitted is cut off again');
  sink.write(group(31, 1000));
  fs.rmSync(filler);
  await writeUntilRecovered(group(32, 1000));
  await sink.finish();
  t.equal(failures.length, 1, 'one report for the episode');
  // Group 31 lands or is dropped, depending on whether a retry has reopened the file before the filler goes.
  t.ok(recoveries[0]!.lines >= 30 && recoveries[0]!.bytes === recoveries[0]!.lines * 1000, `dropped ${recoveries[0]!.lines} lines, counted by line and byte`);
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  t.ok(lines.every((line) => line.length === 999 && line.startsWith('group ')), 'the file holds whole lines only');
  t.equal(lines[0], group(0, 1000).toString().trimEnd());
  t.match(lines[1], /^group 3[12] /, 'and goes on with a line written after the failure');
});

t.test('a rotation that fails is tried again before any write: no recovery is said until it works', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'out.log');
  const { sink, failures, recoveries, writeUntilRecovered } = await watchedSink(file, 100);
  sink.write(group(0, 90));
  await waitFor('the first group', () => fs.readFileSync(file, 'utf8').length === 90 || null);
  // Immutable: the file may still be appended to, but not renamed, even by root.
  execFileSync('chattr', ['+i', dir]);
  t.teardown(() => execFileSync('chattr', ['-i', dir]));
  sink.write(group(1, 20));
  await waitFor('the failure', () => failures.length > 0 || null);
  // Small enough to fit in the file after a retry reopens it: they must not count as a recovery.
  // Each one written once a retry has reopened the file, so each tries the rotation again.
  for (let n = 2; n < 12; n++) {
    await waitFor(`the file reopened before write ${n}`, () => sink.status === 'open');
    const tried = sink.reopenAttempts;
    sink.write(group(n, 5));
    await waitFor(`a retry after write ${n}`, () => sink.reopenAttempts > tried);
  }
  t.same(recoveries, [], 'no recovery while the rotation cannot happen');
  t.equal(fs.readFileSync(file, 'utf8'), group(0, 90).toString(), 'and nothing written past the size');
  execFileSync('chattr', ['-i', dir]);
  await writeUntilRecovered(group(99, 5));
  await sink.finish();
  t.equal(failures.length, 1, `one failure reported: ${failures.join(' | ')}`);
  t.match(failures[0], /^EPERM: operation not permitted, rename/);
});

t.test('a failed compression is said once, however many fail; the rotated lines stay in their file', async (t) => {
  const calls: string[] = [];
  const here = (relative: string) => new URL(relative, import.meta.url).href;
  const { LogSink: Mocked } = await t.mockImport<typeof import('../../src/logs/log-sink.js')>(here('../../src/logs/log-sink.js'), {
    [here('../../src/logs/compressor.js')]: {
      compress: async (file: string) => { calls.push(file); throw new Error('the compressor died'); },
      noteLogged: () => {},
    },
  });
  const dir = tempDir(t);
  const file = path.join(dir, 'out.log');
  const failures: string[] = [];
  const recoveries: unknown[] = [];
  const sink = await Mocked.open({ path: file, maxSize: 100, onFailed: (error) => failures.push(error.message), onRecovered: (dropped) => recoveries.push(dropped) });
  for (let n = 0; n < 4; n++) sink.write(group(n, 80));
  await sink.finish();
  await waitFor('every rotated file tried', () => calls.length === 3);
  t.equal(failures.length, 1, `said once: ${failures.join(' | ')}`);
  t.match(failures[0], /^could not compress .*out-\d+\.log: the compressor died$/);
  t.same(recoveries, [], 'and no write "recovered": none had failed');
  const rotated = fs.readdirSync(dir).filter((f) => /^out-\d+\.log$/.test(f)).sort();
  t.same(rotated.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')), [0, 1, 2].map((n) => group(n, 80).toString()), 'each rotated file keeps its lines');
});
