// Entry point of the log compressor, a child of the daemon: gzips the files named on stdin,
// one per line and one at a time, into FILE.gz, removes FILE, and answers each line on
// stdout with `ok` or `error <why>`. It runs at a lower CPU priority, so that compressing
// archives never slows the workers or the writing of new lines; it exits when stdin ends.
import fs from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { createNew } from '../files/owned-paths.js';

lowerPriority(19);

// A partial archive left by a failure is removed by the daemon's side, which also sees a kill.
for await (const file of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  const archive = `${file}.gz`;
  try {
    // Level 1: several times faster than the default, for archives a few percent larger.
    // The archive is as private as its file: a trace's stays 0600.
    const source = await fs.promises.open(file);
    const { mode } = await source.stat();
    // Never through a link or over a file someone planted under the archive's name.
    const target = fs.createWriteStream('', { fd: createNew(archive, mode & 0o777) });
    await pipeline(source.createReadStream(), zlib.createGzip({ level: 1 }), target);
    await fs.promises.rm(file);
    process.stdout.write('ok\n');
  } catch (error) {
    process.stdout.write(`error ${(error as Error).message.replace(/\n/g, ' ')}\n`);
  }
}

/**
 * Lowers this process's CPU priority. On Linux a priority belongs to a thread, and Node
 * starts its thread pool (which runs zlib) while it loads modules, before any code here
 * runs: so each thread is lowered, not only the main one.
 */
function lowerPriority(niceness: number): void {
  let threads: number[] = [];
  try {
    threads = fs.readdirSync('/proc/self/task').map(Number);
  } catch {
    // No /proc: a priority here belongs to the whole process.
  }
  for (const id of [0, ...threads]) {
    try {
      os.setPriority(id, niceness);
    } catch {
      // Not allowed here: compress at the daemon's priority.
    }
  }
}
