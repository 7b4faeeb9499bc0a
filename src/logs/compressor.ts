// Gzips rotated log files in a child process at a lower CPU priority (bin/compressor.ts),
// one file at a time, for every log file of this process. The child starts at the first
// rotation and ends after a while without work, so an idle daemon holds no extra process.
// A compressor that dies fails its files, and the next rotation starts a new one.
//
// A lower priority alone does not keep compression off the workers' backs: on a small
// machine it still takes a core's caches and the gaps the scheduler leaves. So while the
// logs are flooded, archives wait for the flood to end, as logrotate's delaycompress lets
// one wait, but never longer than MAX_WAIT_MS: a flood that lasts is compressed as it goes.
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { removeOwnFile } from '../files/owned-paths.js';

const ENTRY = fileURLToPath(new URL('../bin/compressor.js', import.meta.url));
const LINGER_MS = 5000;
/** Logging faster than this is a flood: at this rate compressing would take a few percent of a core. */
export const FLOOD_BYTES_PER_SECOND = 4 * 1024 * 1024;
export const MAX_WAIT_MS = 10_000;
const CHECK_MS = 250;

interface Job { resolve(): void; reject(error: Error): void }
interface Waiting extends Job { file: string; since: number }

/** Rotated files not yet sent to the child: they wait while the logs are flooded. */
let waiting: Waiting[] = [];
let checkTimer: NodeJS.Timeout | null = null;
let loggedSinceCheck = 0;
let lastCheck = 0;
let floodChecks = 0;

let child: ChildProcess | null = null;
/** Files sent to the child and not yet answered, in the order it answers them. */
let pending: Job[] = [];
let lingerTimer: NodeJS.Timeout | null = null;

/**
 * Gzips `file` into `file.gz` and removes `file`; rejects with the reason it could not,
 * leaving `file` as it was and no partial `file.gz` (a killed compressor cannot clean up).
 */
export async function compress(file: string): Promise<void> {
  if (file.includes('\n')) throw new Error('a file name with a line break cannot be sent to the compressor');
  try {
    await new Promise<void>((resolve, reject) => {
      waiting.push({ file, since: Date.now(), resolve, reject });
      scheduleCheck();
    });
  } catch (error) {
    removeOwnFile(`${file}.gz`);
    throw error;
  }
}

/** How many checks so far found the logs flooded and kept files waiting: what a test can wait on. */
export const checksThatWaited = (): number => floodChecks;

/** Counts bytes written to the log files, by which a flood is told. */
export function noteLogged(bytes: number): void {
  loggedSinceCheck += bytes;
}

function scheduleCheck(): void {
  if (checkTimer) return;
  loggedSinceCheck = 0;
  lastCheck = Date.now();
  checkTimer = setTimeout(sendWaiting, CHECK_MS);
}

/** Sends every waiting file when the logs are calm, else those that have waited too long. */
function sendWaiting(everything = false): void {
  if (checkTimer) clearTimeout(checkTimer);
  checkTimer = null;
  const now = Date.now();
  const calm = everything || loggedSinceCheck * 1000 < FLOOD_BYTES_PER_SECOND * Math.max(1, now - lastCheck);
  const due = waiting.filter((job) => calm || now - job.since >= MAX_WAIT_MS);
  waiting = waiting.filter((job) => !due.includes(job));
  if (waiting.length > 0) floodChecks++;
  for (const job of due) sendToCompressor(job.file).then(job.resolve, job.reject);
  if (waiting.length > 0) scheduleCheck();
}

function sendToCompressor(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (lingerTimer) clearTimeout(lingerTimer);
    lingerTimer = null;
    const compressor = child ?? startCompressor();
    holdAlive(compressor, true);
    pending.push({ resolve, reject });
    compressor.stdin!.write(`${file}\n`);
  });
}

/** Resolves once the files given so far are compressed (or failed) and the child is gone; none waits for a flood to end. */
export function finishCompressing(): Promise<void> {
  sendWaiting(true);
  const compressor = child;
  if (!compressor) return Promise.resolve();
  holdAlive(compressor, true);
  return new Promise((resolve) => {
    compressor.once('close', () => resolve());
    retire(compressor);
  });
}

/** Lets it finish what it has; a file that comes later starts a new compressor. */
function retire(compressor: ChildProcess): void {
  if (child === compressor) child = null;
  compressor.stdin!.end();
}

function startCompressor(): ChildProcess {
  const started = spawn(process.execPath, [ENTRY], { stdio: ['pipe', 'pipe', 'ignore'] });
  child = started;
  const jobs: Job[] = [];
  pending = jobs;
  const fail = (why: string) => {
    if (child === started) child = null;
    for (const job of jobs.splice(0)) job.reject(new Error(why));
  };
  started.on('error', (error) => fail(`the compressor could not run: ${error.message}`));
  // 'close', not 'exit': its last answers may still be in the pipe when it exits.
  started.on('close', (code, signal) => fail(`the compressor exited (${signal ?? `code ${code}`})`));
  started.stdin!.on('error', () => {}); // it died: 'close' fails its files
  readline.createInterface({ input: started.stdout!, crlfDelay: Infinity }).on('line', (answer) => {
    const job = jobs.shift();
    if (answer === 'ok') job?.resolve();
    else job?.reject(new Error(answer.replace(/^error /, '')));
    if (jobs.length > 0 || child !== started) return;
    holdAlive(started, false);
    lingerTimer = setTimeout(() => retire(started), LINGER_MS).unref();
  });
  return started;
}

/** Files in the works keep this process alive; an idle, lingering compressor does not. */
function holdAlive(compressor: ChildProcess, hold: boolean): void {
  for (const handle of [compressor, compressor.stdin, compressor.stdout] as unknown as { ref?(): void; unref?(): void }[]) {
    if (hold) handle.ref?.();
    else handle.unref?.();
  }
}
