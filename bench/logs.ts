// Two workers write MEGABYTES of numbered lines each, as fast as they can, with
// --max-log-size 10485760. For our naught, naught 1.6.0 (on Node 8.17, the last Node it
// runs on) and a plain shell redirect to one file, in the same run: wall time until every
// line is on disk, the supervisor's peak RSS, and a check of every line (live file plus
// decompressed archives): none lost, none twice, none torn.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { machine, median, printTable, writeResult } from './lib/stats.js';
import { node8 } from './lib/node8.js';
import { children, rss } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKER = path.join(ROOT, 'bench/flood-worker.cjs');
const OURS = path.join(ROOT, 'dist/src/bin/naught.js');
const NAUGHT_16 = path.join(ROOT, 'node_modules/naught/lib/main.js');
const NODE_8 = node8(ROOT);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MEGABYTES = Number(process.env.BENCH_MB ?? 100);
const MAX_LOG_SIZE = 10_485_760;

interface Run { seconds: number; daemonPeakMiB: number | null; masterPeakMiB: number | null; lost: number; duplicated: number; torn: number }

type Setup = { name: string; run(dir: string): Promise<Omit<Run, 'lost' | 'duplicated' | 'torn'>> };

const supervised = (name: string, node: string, cli: string): Setup => ({
  name,
  async run(dir) {
    const env = { ...process.env, MEGABYTES: String(MEGABYTES), PORT: '0' };
    const started = Date.now();
    const start = spawn(node, [cli, 'start', '--worker-count', '2', '--max-log-size', String(MAX_LOG_SIZE), WORKER], { cwd: dir, env, stdio: 'ignore' });
    await once(start, 'exit');
    const daemon = Number.parseInt(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'), 10);
    const master = children(daemon)[0]!;
    let daemonPeak = 0;
    let masterPeak = 0;
    for (let polls = 0; ; polls++) {
      daemonPeak = Math.max(daemonPeak, rss(daemon));
      masterPeak = Math.max(masterPeak, rss(master));
      if (bothDone(dir, polls % 40 === 39)) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const seconds = (Date.now() - started) / 1000;
    const stop = spawn(node, [cli, 'stop', '--timeout', '2'], { cwd: dir, env, stdio: 'ignore' });
    await once(stop, 'exit');
    return { seconds, daemonPeakMiB: daemonPeak / 2 ** 20, masterPeakMiB: masterPeak / 2 ** 20 };
  },
});

const redirect: Setup = {
  name: 'shell redirect to a file',
  async run(dir) {
    const started = Date.now();
    const workers: ChildProcess[] = ['0', '1'].map((n) => spawn('sh', ['-c', `exec "${process.execPath}" "${WORKER}" >> stdout.log`], {
      cwd: dir, stdio: 'ignore', env: { ...process.env, MEGABYTES: String(MEGABYTES), NAUGHT_WORKER: n, EXIT_WHEN_DONE: '1' },
    }));
    await Promise.all(workers.map((w) => once(w, 'exit')));
    return { seconds: (Date.now() - started) / 1000, daemonPeakMiB: null, masterPeakMiB: null };
  },
};

/** Cheap check of the live file's tail; now and then a full read, for done lines that rotated away. */
function bothDone(dir: string, full: boolean): boolean {
  const text = full ? everything(dir, false) : tail(path.join(dir, 'stdout.log'), 512 * 1024);
  return text.includes('w0 done ') && text.includes('w1 done ');
}

function tail(file: string, bytes: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(bytes, size));
    fs.readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    fs.closeSync(fd);
    return buffer.toString();
  } catch {
    return '';
  }
}

/** Archives in time order, then the live file; waits for compression to finish when asked. */
function everything(dir: string, strict: boolean): string {
  const names = fs.readdirSync(dir);
  const archives = names.filter((n) => /^stdout-\d+\.log\.gz$/.test(n)).sort((a, b) => stamp(a) - stamp(b));
  const parts: string[] = [];
  for (const name of archives) {
    try {
      parts.push(zlib.gunzipSync(fs.readFileSync(path.join(dir, name))).toString());
    } catch (error) {
      if (strict) throw error;
    }
  }
  parts.push(fs.existsSync(path.join(dir, 'stdout.log')) ? fs.readFileSync(path.join(dir, 'stdout.log'), 'utf8') : '');
  return parts.join('');
}

const stamp = (name: string) => Number(/-(\d+)\./.exec(name)![1]);

async function verify(dir: string): Promise<{ lost: number; duplicated: number; torn: number }> {
  // Compression of the last archives may still be under way.
  for (let i = 0; i < 200 && fs.readdirSync(dir).some((n) => /^stdout-\d+\.log$/.test(n)); i++) await new Promise((r) => setTimeout(r, 50));
  const lines = everything(dir, true).split('\n');
  let lost = 0;
  let duplicated = 0;
  let torn = 0;
  const pad = 'x'.repeat(80);
  for (const tag of ['w0', 'w1']) {
    const total = Number(lines.find((l) => l.startsWith(`${tag} done `))?.split(' ')[2] ?? NaN);
    const seen = new Uint8Array(total);
    for (const line of lines) {
      if (!line.startsWith(`${tag} `) || line.startsWith(`${tag} done`)) continue;
      const [, index, body] = line.split(' ');
      if (body !== pad) { torn++; continue; }
      seen[Number(index)] = seen[Number(index)]! + 1;
    }
    for (const count of seen) {
      if (count === 0) lost++;
      if (count > 1) duplicated += count - 1;
    }
  }
  torn += lines.filter((l) => l !== '' && !/^w[01] /.test(l)).length;
  return { lost, duplicated, torn };
}

const setups: Setup[] = [
  redirect,
  supervised('naught (this, Node ' + process.version + ')', process.execPath, OURS),
  supervised('naught 1.6.0 (Node 8.17.0)', NODE_8, NAUGHT_16),
];
const results: Record<string, Run[]> = {};
for (let run = 0; run < RUNS; run++) {
  for (const setup of setups) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-bench-logs-'));
    try {
      const timing = await setup.run(dir);
      const check = await verify(dir);
      (results[setup.name] ??= []).push({ ...timing, ...check });
      console.error(`run ${run + 1}/${RUNS} ${setup.name}: ${timing.seconds.toFixed(2)} s, lost ${check.lost}, duplicated ${check.duplicated}, torn ${check.torn}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

const summary = Object.fromEntries(Object.entries(results).map(([name, runs]) => {
  const seconds = runs.map((r) => r.seconds);
  const peak = (key: 'daemonPeakMiB' | 'masterPeakMiB') => (runs[0]![key] === null ? null : Math.round(median(runs.map((r) => r[key]!)) * 10) / 10);
  return [name, {
    secondsMedian: Math.round(median(seconds) * 100) / 100, secondsMin: Math.min(...seconds), secondsMax: Math.max(...seconds),
    daemonPeakMiB: peak('daemonPeakMiB'), masterPeakMiB: peak('masterPeakMiB'),
    lost: runs.reduce((a, r) => a + r.lost, 0), duplicated: runs.reduce((a, r) => a + r.duplicated, 0), torn: runs.reduce((a, r) => a + r.torn, 0),
  }];
}));
const base = summary[redirect.name]!.secondsMedian;
const old = summary[setups[2]!.name]!.secondsMedian;
printTable(['setup', 'wall s (median)', 'min-max', 'vs redirect', 'vs naught 1.6', 'daemon peak MiB', 'master peak MiB', 'lost', 'dup', 'torn'],
  Object.entries(summary).map(([name, s]) => [name, s.secondsMedian, `${s.secondsMin.toFixed(2)}-${s.secondsMax.toFixed(2)}`,
    `${(s.secondsMedian / base).toFixed(2)}x`, `${(s.secondsMedian / old).toFixed(2)}x`, s.daemonPeakMiB ?? '-', s.masterPeakMiB ?? '-', s.lost, s.duplicated, s.torn]));
console.log(`\n${2 * MEGABYTES} MB of ~90-byte lines from 2 workers, --max-log-size ${MAX_LOG_SIZE}, ${RUNS} runs each, all lines checked`);
writeResult(path.join(ROOT, 'bench/results/logs.json'), { machine: machine(), date: new Date().toISOString(), megabytesPerWorker: MEGABYTES, runs: RUNS, results: summary });
