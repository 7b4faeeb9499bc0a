// Two workers write MEGABYTES of numbered lines each, as fast as they can, with
// --max-log-size 10485760. For our naught, naught 1.6.0 (on Node 8.17, the last Node it
// runs on) and a plain shell redirect to one file, in the same run: the time until every
// line is on disk, counted from the command and from the first line written, the
// supervisor's peak RSS, and a check of every line (live file plus decompressed
// archives): none lost, none twice, none torn.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { machine, median, printTable, writeResult } from './lib/stats.js';
import { node8 } from './lib/node8.js';
import { children, commandLine, rss } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKER = path.join(ROOT, 'bench/flood-worker.cjs');
const OURS = path.join(ROOT, 'dist/src/bin/naught.js');
const NAUGHT_16 = path.join(ROOT, 'node_modules/naught/lib/main.js');
const NODE_8 = node8(ROOT);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MEGABYTES = Number(process.env.BENCH_MB ?? 100);
const MAX_LOG_SIZE = 10_485_760;

interface Run {
  /** From the command (supervisor start included) until every line is on disk. */
  seconds: number;
  /** From the first line a worker wrote until every line is on disk: the logging alone. */
  floodSeconds: number;
  daemonPeakMiB: number | null;
  masterPeakMiB: number | null;
  /** Our archive compressor, a child of the daemon while there are archives to compress. */
  compressorPeakMiB: number | null;
  lost: number;
  duplicated: number;
  torn: number;
}

type Setup = { name: string; run(dir: string): Promise<Omit<Run, 'lost' | 'duplicated' | 'torn'>> };

const ROLE = { master: /master\.js/, compressor: /compressor\.js/ };

const supervised = (name: string, node: string, cli: string): Setup => ({
  name,
  async run(dir) {
    const env = { ...process.env, MEGABYTES: String(MEGABYTES), PORT: '0' };
    const started = Date.now();
    const start = spawn(node, [cli, 'start', '--worker-count', '2', '--max-log-size', String(MAX_LOG_SIZE), WORKER], { cwd: dir, env, stdio: 'ignore' });
    await once(start, 'exit');
    const daemon = Number.parseInt(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'), 10);
    const peak = { daemon: 0, master: 0, compressor: 0 };
    let firstLineAt = Infinity;
    const search = newSearch();
    for (;;) {
      peak.daemon = Math.max(peak.daemon, rss(daemon));
      for (const child of children(daemon)) {
        const role = commandLine(child);
        if (ROLE.master.test(role)) peak.master = Math.max(peak.master, rss(child));
        if (ROLE.compressor.test(role)) peak.compressor = Math.max(peak.compressor, rss(child));
      }
      firstLineAt = doneLines(dir, search);
      if (firstLineAt < Infinity) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const seconds = (Date.now() - started) / 1000;
    const floodSeconds = (Date.now() - firstLineAt) / 1000;
    const stop = spawn(node, [cli, 'stop', '--timeout', '2'], { cwd: dir, env, stdio: 'ignore' });
    await once(stop, 'exit');
    const mib = (bytes: number) => bytes / 2 ** 20;
    return {
      seconds, floodSeconds, daemonPeakMiB: mib(peak.daemon), masterPeakMiB: mib(peak.master),
      compressorPeakMiB: peak.compressor ? mib(peak.compressor) : null,
    };
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
    const finished = Date.now();
    const floodSeconds = (finished - doneLines(dir, newSearch())) / 1000;
    return { seconds: (finished - started) / 1000, floodSeconds, daemonPeakMiB: null, masterPeakMiB: null, compressorPeakMiB: null };
  },
};

/** What a search for the workers' last lines has found so far in one folder. */
interface DoneSearch { starts: Map<string, number>; scannedRotations: Set<number> }
const newSearch = (): DoneSearch => ({ starts: new Map(), scannedRotations: new Set() });

/**
 * When both workers' last lines are on disk: the time their first lines were written, else
 * Infinity. Looked for only once both workers have written them (their marker files), in
 * the live file and in the files rotated since then, each rotated file read once.
 */
function doneLines(dir: string, search: DoneSearch): number {
  const markers = ['w0', 'w1'].map((tag) => { try { return fs.statSync(path.join(dir, `${tag}.written`)).mtimeMs; } catch { return NaN; } });
  if (markers.some(Number.isNaN)) return Infinity;
  const since = Math.min(...markers) - 1000;
  const names = fs.readdirSync(dir);
  for (const name of names) {
    const rotated = /^stdout-(\d+)\.log$/.exec(name) ?? /^stdout-(\d+)\.log\.gz$/.exec(name);
    const at = Number(rotated?.[1]);
    if (!rotated || at < since || search.scannedRotations.has(at)) continue;
    // While a file is being compressed, its partial archive sits beside it: read the file.
    if (name.endsWith('.gz') && names.includes(name.slice(0, -3))) continue;
    try {
      const content = fs.readFileSync(path.join(dir, name));
      findDone(name.endsWith('.gz') ? zlib.gunzipSync(content) : content, search);
      search.scannedRotations.add(at);
    } catch {
      // renamed or compressed under us: the next poll reads it again
    }
  }
  try { findDone(fs.readFileSync(path.join(dir, 'stdout.log')), search); } catch { /* rotating */ }
  return search.starts.size === 2 ? Math.min(...search.starts.values()) : Infinity;
}

function findDone(content: Buffer, search: DoneSearch): void {
  for (const tag of ['w0', 'w1']) {
    const at = content.indexOf(`\n${tag} done `);
    if (at === -1) continue;
    const line = content.subarray(at + 1, content.indexOf('\n', at + 1)).toString();
    search.starts.set(tag, Number(line.split(' ')[3]));
  }
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
      console.error(`run ${run + 1}/${RUNS} ${setup.name}: ${timing.seconds.toFixed(2)} s (${timing.floodSeconds.toFixed(2)} s from the first line), lost ${check.lost}, duplicated ${check.duplicated}, torn ${check.torn}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

type Figure = 'seconds' | 'floodSeconds';
type Peak = 'daemonPeakMiB' | 'masterPeakMiB' | 'compressorPeakMiB';
const summary = Object.fromEntries(Object.entries(results).map(([name, runs]) => {
  const spread = (key: Figure) => {
    const values = runs.map((r) => r[key]);
    return { median: Math.round(median(values) * 100) / 100, min: Math.min(...values), max: Math.max(...values) };
  };
  const peak = (key: Peak) => {
    const values = runs.map((r) => r[key]).filter((v): v is number => v !== null);
    return values.length ? Math.round(median(values) * 10) / 10 : null;
  };
  return [name, {
    seconds: spread('seconds'), floodSeconds: spread('floodSeconds'),
    daemonPeakMiB: peak('daemonPeakMiB'), masterPeakMiB: peak('masterPeakMiB'), compressorPeakMiB: peak('compressorPeakMiB'),
    lost: runs.reduce((a, r) => a + r.lost, 0), duplicated: runs.reduce((a, r) => a + r.duplicated, 0), torn: runs.reduce((a, r) => a + r.torn, 0),
  }];
}));
const ratio = (name: string, key: Figure, baseline: string) => `${(summary[name]![key].median / summary[baseline]![key].median).toFixed(2)}x`;
const figure = (s: { median: number; min: number; max: number }) => `${s.median} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
const naught16 = setups[2]!.name;
printTable(
  ['setup', 'from command, s', 'vs redirect', 'vs naught 1.6', 'from first line, s', 'vs redirect', 'vs naught 1.6', 'daemon MiB', 'master MiB', 'compressor MiB', 'lost', 'dup', 'torn'],
  Object.entries(summary).map(([name, s]) => [
    name,
    figure(s.seconds), ratio(name, 'seconds', redirect.name), ratio(name, 'seconds', naught16),
    figure(s.floodSeconds), ratio(name, 'floodSeconds', redirect.name), ratio(name, 'floodSeconds', naught16),
    s.daemonPeakMiB ?? '-', s.masterPeakMiB ?? '-', s.compressorPeakMiB ?? '-', s.lost, s.duplicated, s.torn,
  ]),
);
console.log(`\n${2 * MEGABYTES} MB of ~90-byte lines from 2 workers, --max-log-size ${MAX_LOG_SIZE}; medians (min-max) of ${RUNS} runs; peak RSS; every line checked`);
writeResult(path.join(ROOT, 'bench/results/logs.json'), { machine: machine(), date: new Date().toISOString(), megabytesPerWorker: MEGABYTES, runs: RUNS, results: summary });
