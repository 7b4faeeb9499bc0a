// Two workers write MEGABYTES of numbered lines each, as fast as they can, with
// --max-log-size 10485760. For our naught, naught 1.6.0 (on Node 8.17, the last Node it
// runs on) and a plain shell redirect to one file, in the same run: the time until every
// line is on disk, counted from the command and from the first line written, the
// supervisor's peak RSS, and a check of every line (live file plus decompressed
// archives): none lost, none twice, none torn.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { machine, markdownTable, median, printTable, writeBenchmarksSection, writeResult } from './lib/stats.js';
import { node8 } from '../test/helpers/node-lines.js';
import { children, commandLine, peakRss } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORKER = path.join(ROOT, 'bench/flood-worker.cjs');
const OURS = path.join(ROOT, 'dist/src/bin/naught.js');
const NAUGHT_16 = path.join(ROOT, 'node_modules/naught/lib/main.js');
const NODE_8 = node8();
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MEGABYTES = Number(process.env.BENCH_MB ?? 100);
const MAX_LOG_SIZE = 10_485_760;
/** LOG_WRITER=line: each worker writes one console.log per line, as most servers do; else writes of 100 lines. */
const PER_LINE = process.env.LOG_WRITER === 'line';
const WRITER_ENV = { MEGABYTES: String(MEGABYTES), PER_LINE: PER_LINE ? '1' : '0' };

interface Run {
  /** From the command (supervisor start included) until every line is on disk. */
  seconds: number;
  /** From the first line a worker wrote until every line is on disk: the logging alone. */
  floodSeconds: number;
  /** From the first line until every rotated file is gzipped; null for the redirect, which has none. */
  gzippedSeconds: number | null;
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
    const env = { ...process.env, ...WRITER_ENV, PORT: '0' };
    const started = Date.now();
    const start = spawn(node, [cli, 'start', '--worker-count', '2', '--max-log-size', String(MAX_LOG_SIZE), WORKER], { cwd: dir, env, stdio: 'ignore' });
    await once(start, 'exit');
    const daemon = Number.parseInt(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'), 10);
    const peak = { daemon: 0, master: 0, compressor: 0 };
    // The kernel's high-water marks, so a peak between two samples is not missed; the
    // compressor comes and goes, so it is sampled while it runs.
    const samplePeaks = () => {
      peak.daemon = Math.max(peak.daemon, peakRss(daemon));
      for (const child of children(daemon)) {
        const role = commandLine(child);
        if (ROLE.master.test(role)) peak.master = Math.max(peak.master, peakRss(child));
        if (ROLE.compressor.test(role)) peak.compressor = Math.max(peak.compressor, peakRss(child));
      }
    };
    // Every 5 ms, as the redirect's end is timed to the exit of its workers: a coarser poll
    // would add half its period to every supervised time (a tick costs a readdir and a few stats).
    const poll = async (what: string, done: () => boolean) => {
      const deadline = Date.now() + 120_000;
      for (let tick = 0; !done(); tick++) {
        // Lines lost, or archives never gzipped: stop waiting, and stop the supervisor; the check below counts them.
        if (Date.now() > deadline) return console.error(`${name}: ${what} within 2 minutes`);
        if (tick % 20 === 0) samplePeaks();
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await poll('not every line reached the disk', () => doneLines(dir) < Infinity);
    const firstLineAt = markers(dir)?.firstLineAt ?? NaN;
    const seconds = (Date.now() - started) / 1000;
    const floodSeconds = (Date.now() - firstLineAt) / 1000;
    await poll('not every archive was gzipped', () => !fs.readdirSync(dir).some((n) => /^stdout-\d+\.log$/.test(n)));
    const gzippedSeconds = (Date.now() - firstLineAt) / 1000;
    samplePeaks();
    const stop = spawn(node, [cli, 'stop', '--timeout', '2'], { cwd: dir, env, stdio: 'ignore' });
    await once(stop, 'exit');
    const mib = (bytes: number) => bytes / 2 ** 20;
    return {
      seconds, floodSeconds, gzippedSeconds, daemonPeakMiB: mib(peak.daemon), masterPeakMiB: mib(peak.master),
      compressorPeakMiB: peak.compressor ? mib(peak.compressor) : null,
    };
  },
});

const unsupervised = (name: string, command: string): Setup => ({
  name,
  async run(dir) {
    const started = Date.now();
    const workers: ChildProcess[] = ['0', '1'].map((n) => spawn('sh', ['-c', command], {
      cwd: dir, stdio: 'ignore', env: { ...process.env, ...WRITER_ENV, NAUGHT_WORKER: n, EXIT_WHEN_DONE: '1' },
    }));
    await Promise.all(workers.map((w) => once(w, 'exit')));
    const finished = Date.now();
    const floodSeconds = (finished - markers(dir)!.firstLineAt) / 1000;
    return { seconds: (finished - started) / 1000, floodSeconds, gzippedSeconds: null, daemonPeakMiB: null, masterPeakMiB: null, compressorPeakMiB: null };
  },
});
const redirect = unsupervised('shell redirect to a file', `exec "${process.execPath}" "${WORKER}" >> stdout.log`);
/** The floor for any supervisor that relays output through another process (bench/relay-floor.sh): each worker through its own `cat`. */
// Each to a file of its own, as bench/relay-floor.sh does: cat is not line-aware, so two cats appending to one file would tear lines.
const catRelay = unsupervised('through cat to a file (relay floor)', `"${process.execPath}" "${WORKER}" | cat >> relay-w$NAUGHT_WORKER.log`);

/** What both workers say they wrote once they are done: all their bytes, and when they began. */
function markers(dir: string): { bytes: number; firstLineAt: number } | null {
  let bytes = 0;
  let firstLineAt = Infinity;
  for (const tag of ['w0', 'w1']) {
    const marker = readText(path.join(dir, `${tag}.written`)).split(' ').map(Number);
    if (marker.length !== 2 || marker.some(Number.isNaN)) return null;
    bytes += marker[0]!;
    firstLineAt = Math.min(firstLineAt, marker[1]!);
  }
  return { bytes, firstLineAt };
}

/**
 * Once every byte the workers wrote is on disk: when their first line was written; else
 * Infinity. Counted without reading the lines (the bench must not compete with what it
 * measures): the live file and rotated files by size, archives by their gzip size field.
 */
function doneLines(dir: string): number {
  const wrote = markers(dir);
  if (!wrote) return Infinity;
  const names = new Set(fs.readdirSync(dir));
  let onDisk = 0;
  for (const name of names) {
    if (name === 'stdout.log' || /^stdout-\d+\.log$/.test(name)) onDisk += sizeOf(path.join(dir, name));
    // An archive beside its file is still being written: the file counts.
    else if (/^stdout-\d+\.log\.gz$/.test(name) && !names.has(name.slice(0, -3))) onDisk += gzipSize(path.join(dir, name));
  }
  return onDisk >= wrote.bytes ? wrote.firstLineAt : Infinity;
}

const readText = (file: string) => { try { return fs.readFileSync(file, 'utf8'); } catch { return ''; } };
const sizeOf = (file: string) => { try { return fs.statSync(file).size; } catch { return 0; } };

/** The uncompressed size a gzip file records in its last 4 bytes (archives are under 4 GiB). */
function gzipSize(file: string): number {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const field = Buffer.alloc(4);
      fs.readSync(fd, field, 0, 4, size - 4);
      return field.readUInt32LE(0);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return 0;
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
  for (const relayed of names.filter((n) => /^relay-w\d\.log$/.test(n))) parts.push(fs.readFileSync(path.join(dir, relayed), 'utf8'));
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

/**
 * Lets the last run's aftermath pass before the next is timed: checking it left this
 * process a heap of 200 MB of lines to collect, which would otherwise be collected on the
 * machine's cores while the next run floods them.
 */
async function settle(): Promise<void> {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 1000));
}

const setups: Setup[] = [
  redirect,
  catRelay,
  supervised('naught (this, Node ' + process.version + ')', process.execPath, OURS),
  supervised('naught 1.6.0 (Node 8.17.0)', NODE_8, NAUGHT_16),
];
const results: Record<string, Run[]> = {};
for (let run = 0; run < RUNS; run++) {
  for (const setup of setups) {
    await settle();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-bench-logs-'));
    try {
      const timing = await setup.run(dir);
      const check = await verify(dir);
      (results[setup.name] ??= []).push({ ...timing, ...check });
      const gzipped = timing.gzippedSeconds === null ? '' : `, all gzipped at ${timing.gzippedSeconds.toFixed(2)} s`;
      console.error(`run ${run + 1}/${RUNS} ${setup.name}: ${timing.seconds.toFixed(2)} s (${timing.floodSeconds.toFixed(2)} s from the first line${gzipped}), lost ${check.lost}, duplicated ${check.duplicated}, torn ${check.torn}`);
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
  const gzipped = runs.map((r) => r.gzippedSeconds).filter((v): v is number => v !== null);
  return [name, {
    seconds: spread('seconds'), floodSeconds: spread('floodSeconds'),
    gzippedSeconds: gzipped.length ? Math.round(median(gzipped) * 100) / 100 : null,
    daemonPeakMiB: peak('daemonPeakMiB'), masterPeakMiB: peak('masterPeakMiB'), compressorPeakMiB: peak('compressorPeakMiB'),
    lost: runs.reduce((a, r) => a + r.lost, 0), duplicated: runs.reduce((a, r) => a + r.duplicated, 0), torn: runs.reduce((a, r) => a + r.torn, 0),
  }];
}));
const ratio = (name: string, key: Figure, baseline: string) => `${(summary[name]![key].median / summary[baseline]![key].median).toFixed(2)}x`;
const figure = (s: { median: number; min: number; max: number }) => `${s.median} (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
const naught16 = setups[3]!.name;
const oursName = setups[2]!.name;
const headers = ['setup', 'from command, s', 'vs redirect', 'vs naught 1.6', 'from first line, s', 'vs redirect', 'vs naught 1.6', 'all gzipped, s', 'daemon MiB', 'master MiB', 'compressor MiB', 'lost', 'dup', 'torn'];
const rows = Object.entries(summary).map(([name, s]) => [
  name,
  figure(s.seconds), ratio(name, 'seconds', redirect.name), ratio(name, 'seconds', naught16),
  figure(s.floodSeconds), ratio(name, 'floodSeconds', redirect.name), ratio(name, 'floodSeconds', naught16),
  s.gzippedSeconds ?? '-', s.daemonPeakMiB ?? '-', s.masterPeakMiB ?? '-', s.compressorPeakMiB ?? '-', s.lost, s.duplicated, s.torn,
]);
printTable(headers, rows);
const relayRatio = summary[oursName]!.floodSeconds.median / summary[catRelay.name]!.floodSeconds.median;
console.log(`\ntarget: ≤ 1.2x the cat relay (from the first line), ${PER_LINE ? 'one console.log per line' : 'writes of 100 lines'}: ${relayRatio.toFixed(2)}x, ${relayRatio <= 1.2 ? 'met' : 'missed'}`);
console.log(`${2 * MEGABYTES} MB of ~90-byte lines from 2 workers, --max-log-size ${MAX_LOG_SIZE}; medians (min-max) of ${RUNS} runs; peak RSS; every line checked`);
console.log('all gzipped: from the first line until no rotated file is left uncompressed (ours waits for a flood to pass, see README)');
const info = machine();
writeResult(path.join(ROOT, `bench/results/logs${PER_LINE ? '-per-line' : ''}.json`), { machine: info, date: new Date().toISOString(), megabytesPerWorker: MEGABYTES, writer: PER_LINE ? 'line' : 'batched', runs: RUNS, results: summary, vsCatRelay: relayRatio });
const heading = `## Logs: ${PER_LINE ? 'one console.log per line' : 'batched writers'}`;
writeBenchmarksSection(ROOT, heading, [
  heading,
  '',
  `${2 * MEGABYTES} MB of ~90-byte lines from 2 workers (${PER_LINE ? 'one `console.log` per line' : 'writes of 100 lines'}), \`--max-log-size ${MAX_LOG_SIZE}\`, every line checked in the live file and the decompressed archives; seconds from the command and from the first line until every line is on disk, medians (min-max) of ${RUNS} runs, peak RSS. The cat relay (\`bench/relay-floor.sh\`: each worker piped through its own \`cat >>\` into a file of its own) is the floor: ours ${relayRatio.toFixed(2)}× it from the first line (target ≤ 1.2×, ${relayRatio <= 1.2 ? 'met' : 'missed'}). \`npm run bench:logs${PER_LINE ? ':per-line' : ''}\`. ${info.cpus} × ${info.cpuModel}, Node ${info.node}.`,
  '',
  ...markdownTable(headers, rows),
  '',
].join('\n'));
