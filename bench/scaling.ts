// `npm run bench:scaling`: requests/s through 1, 2, 4, 8 and 12 workers of the fixture
// server under naught, beside plain node:cluster (bench/floors/cluster.cjs) with the same
// workers, in one command; target ≥ 0.95× plain cluster at every count. It needs a
// machine with 16 cores (the load generator runs beside the workers): elsewhere it says
// it was skipped and measures nothing. SCALING_SECONDS (default 10) per count, BENCH_RUNS
// (default 3) runs. Prints a table, writes bench/results/scaling.json and its
// BENCHMARKS.md section.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { machine, markdownTable, median, printTable, writeBenchmarksSection, writeResult } from './lib/stats.js';
import { freePort, killTree } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.SCALING_SECONDS ?? 10);
const COUNTS = [1, 2, 4, 8, 12];
const NEEDED_CORES = 16;
const CLI = path.join(ROOT, 'dist/src/bin/naught.js');
const SERVER = path.join(ROOT, 'test/fixtures/hello-server.cjs');
const FLOOR = path.join(ROOT, 'bench/floors/cluster.cjs');
const run = promisify(execFile);
const info = machine();
const heading = '## Scaling with cores';

if (info.cpus < NEEDED_CORES) {
  const why = `skipped: it needs ${NEEDED_CORES} cores and this machine has ${info.cpus}; run \`npm run bench:scaling\` on the 16-core device`;
  console.log(`scaling: ${why}`);
  writeResult(path.join(ROOT, 'bench/results/scaling.json'), { machine: info, skipped: why });
  writeBenchmarksSection(ROOT, heading, `${heading}\n\n\`npm run bench:scaling\` (1, 2, 4, 8 and 12 workers, naught beside plain node:cluster, target ≥ 0.95×): ${why}. No 16-core device was lent to the sessions that built it, so there are no figures yet.\n`);
  process.exit(0);
}


async function requestsPerSecond(port: number): Promise<number> {
  const result = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 64, duration: SECONDS, timeout: 5, workers: 4 });
  return result.requests.average;
}

async function underNaught(count: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-scale-'));
  const port = await freePort();
  const env = { ...process.env, PORT: String(port) };
  await run(process.execPath, [CLI, 'start', '--worker-count', String(count), SERVER], { cwd: dir, env });
  const daemon = Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'));
  try {
    return await requestsPerSecond(port);
  } finally {
    await run(process.execPath, [CLI, 'stop', '--timeout', '3'], { cwd: dir, env }).catch(() => {});
    killTree(daemon);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function underPlainCluster(count: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-scale-'));
  const port = await freePort();
  const primary = spawn(process.execPath, [FLOOR, path.join(dir, 'floor.sock'), String(count), SERVER], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => primary.stdout.on('data', (d: Buffer) => { if (String(d).includes('ready')) resolve(); }));
  try {
    return await requestsPerSecond(port);
  } finally {
    killTree(primary.pid!);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<number, { naught: number[]; cluster: number[] }> = {};
for (let i = 0; i < RUNS; i++) {
  for (const count of COUNTS) {
    console.error(`scaling run ${i + 1}/${RUNS}: ${count} workers`);
    const entry = (results[count] ??= { naught: [], cluster: [] });
    entry.cluster.push(await underPlainCluster(count));
    entry.naught.push(await underNaught(count));
  }
}
const headers = ['workers', 'naught req/s', 'node:cluster req/s', 'ratio', 'target ≥ 0.95×'];
const rows = COUNTS.map((count) => {
  const [ours, plain] = [median(results[count]!.naught), median(results[count]!.cluster)];
  return [String(count), ours.toFixed(0), plain.toFixed(0), `${(ours / plain).toFixed(2)}×`, ours / plain >= 0.95 ? 'met' : 'missed'];
});
printTable(headers, rows);
writeResult(path.join(ROOT, 'bench/results/scaling.json'), { machine: info, runs: RUNS, seconds: SECONDS, results });
writeBenchmarksSection(ROOT, heading, [
  heading, '',
  `Requests/s through the fixture server (\`test/fixtures/hello-server.cjs\`), autocannon with 64 connections in 4 threads for ${SECONDS} s, under naught and under plain node:cluster (\`bench/floors/cluster.cjs\`); medians of ${RUNS} runs. \`npm run bench:scaling\`. ${info.cpus} × ${info.cpuModel}, Node ${info.node}.`,
  '', ...markdownTable(headers, rows), '',
].join('\n'));
