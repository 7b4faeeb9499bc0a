// `npm run bench:rfs`: today's log sink against rotating-file-stream, which the original
// design named and ea8044c replaced, in one process on the same input: MEGABYTES (default
// 200) of ~90-byte numbered lines in groups of 100 lines, size rotation every 10 MiB,
// written as fast as each takes them: wall time and this process's CPU until the last
// byte is on disk. The write path alone: rotating-file-stream compresses nothing here, and
// ours gzips its archives in a child process after the flood, outside the window. rotating-file-stream (the
// newest 3.x) is installed into a temporary folder and removed afterwards. BENCH_RUNS
// (default 3) runs each. Prints a table, writes bench/results/rfs.json and its
// BENCHMARKS.md section.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { LogSink } from '../src/logs/log-sink.js';
import { finishCompressing } from '../src/logs/compressor.js';
import { machine, markdownTable, median, printTable, writeBenchmarksSection, writeResult } from './lib/stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TOTAL = Number(process.env.MEGABYTES ?? 200) * 2 ** 20;
const MAX_SIZE = 10 * 2 ** 20;
const pad = 'x'.repeat(80);

interface Writable { write(group: Buffer): boolean; whenWritable(): Promise<void>; end(): Promise<void> }
interface Measure { wallMs: number; cpuMs: number; bytesOnDisk: number }

/** Writes TOTAL bytes of numbered lines in groups of 100, waiting whenever the writer asks. */
async function flood(writer: Writable): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const at = performance.now();
  let written = 0;
  let n = 0;
  while (written < TOTAL) {
    let chunk = '';
    for (let k = 0; k < 100; k++) chunk += `w0 ${n++} ${pad}\n`;
    const group = Buffer.from(chunk);
    written += group.length;
    if (!writer.write(group)) await writer.whenWritable();
  }
  await writer.end();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - at, cpuMs: (used.user + used.system) / 1000 };
}

const bytesIn = (dir: string) => fs.readdirSync(dir).reduce((sum, name) => sum + fs.statSync(path.join(dir, name)).size, 0);

async function ours(dir: string): Promise<Measure> {
  const sink = await LogSink.open({ path: path.join(dir, 'stdout.log'), maxSize: MAX_SIZE });
  const result = await flood({
    write: (group) => sink.write(group),
    whenWritable: () => new Promise((resolve) => sink.onDrain(resolve)),
    end: () => sink.finish(),
  });
  // Our archives are gzipped by a child process once the flood has passed, outside the window measured.
  await finishCompressing();
  return { ...result, bytesOnDisk: bytesIn(dir) };
}

type CreateStream = (name: string, options: Record<string, unknown>) => NodeJS.WritableStream & { once(event: string, listener: () => void): void };

async function theirs(dir: string, createStream: CreateStream): Promise<Measure> {
  const stream = createStream('stdout.log', { path: dir, size: '10M' });
  const result = await flood({
    write: (group) => stream.write(group),
    whenWritable: () => new Promise((resolve) => stream.once('drain', resolve)),
    end: () => new Promise((resolve) => { stream.once('finish', resolve); stream.end(); }),
  });
  return { ...result, bytesOnDisk: bytesIn(dir) };
}

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-bench-rfs-'));
console.error(`installing rotating-file-stream into ${folder}`);
await promisify(execFile)('npm', ['install', '--no-audit', '--no-fund', '--prefix', folder, 'rotating-file-stream@3'], { timeout: 300_000 });
const rfsRequire = createRequire(path.join(folder, 'package.json'));
const version = (JSON.parse(fs.readFileSync(path.join(folder, 'node_modules/rotating-file-stream/package.json'), 'utf8')) as { version: string }).version;
const { createStream } = rfsRequire('rotating-file-stream') as { createStream: CreateStream };
const setups = [
  { name: "naught's log sink (today)", run: ours },
  { name: `rotating-file-stream ${version}`, run: (dir: string) => theirs(dir, createStream) },
];
const results: Record<string, Measure[]> = {};
try {
  for (let i = 0; i < RUNS; i++) {
    for (const setup of setups) {
      console.error(`rfs run ${i + 1}/${RUNS}: ${setup.name}`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-rfs-'));
      global.gc?.();
      try {
        (results[setup.name] ??= []).push(await setup.run(dir));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
} finally {
  fs.rmSync(folder, { recursive: true, force: true });
}

const [oursName, theirsName] = setups.map((s) => s.name) as [string, string];
const med = (name: string, key: keyof Measure) => median(results[name]!.map((r) => r[key]));
const headers = ['writer', 'wall ms', 'CPU ms', 'vs rotating-file-stream (wall)', 'bytes on disk (ours gzipped)'];
const rows = setups.map(({ name }) => [
  name, med(name, 'wallMs').toFixed(0), med(name, 'cpuMs').toFixed(0), `${(med(name, 'wallMs') / med(theirsName, 'wallMs')).toFixed(2)}×`, String(med(name, 'bytesOnDisk')),
]);
printTable(headers, rows);
const info = machine();
writeResult(path.join(ROOT, 'bench/results/rfs.json'), { machine: info, runs: RUNS, bytes: TOTAL, results });
writeBenchmarksSection(ROOT, '## Log sink against rotating-file-stream', [
  '## Log sink against rotating-file-stream',
  '',
  `The write path alone, in one process: ${TOTAL / 2 ** 20} MiB of ~90-byte lines in groups of 100, rotated every 10 MiB, no compression in the window measured; wall time and CPU until the last byte is on disk, medians of ${RUNS} runs. ours ${(med(oursName, 'wallMs') / med(theirsName, 'wallMs')).toFixed(2)}× rotating-file-stream's wall time and ${(med(oursName, 'cpuMs') / med(theirsName, 'cpuMs')).toFixed(2)}× its CPU. \`npm run bench:rfs\`. ${info.cpus} × ${info.cpuModel}, Node ${info.node}.`,
  '',
  ...markdownTable(headers, rows),
  '',
].join('\n'));
