// `npm run bench` (last) or `npm run bench:batch`: what a deploy of 4 workers costs at
// its peak, all at once (naught's way) against `--batch-size 1`: the most worker
// processes alive at once and their summed RSS (with the master's), sampled every 10 ms,
// and the deploy's duration. Medians of BENCH_RUNS (default 3) deploys each. Prints a
// table, writes bench/results/batch.json and its BENCHMARKS.md section.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { machine, markdownTable, median, printTable, writeBenchmarksSection, writeResult } from './lib/stats.js';
import { children, freePort, killTree, masterOf, rss } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WORKERS = 4;
const SERVER = path.join(ROOT, 'test/fixtures/hello-server.cjs');
const CLI = path.join(ROOT, 'dist/src/bin/naught.js');
const run = promisify(execFile);
const setups = [
  { name: 'all at once (naught)', args: [] as string[] },
  { name: '--batch-size 1', args: ['--batch-size', '1'] },
];


interface Peak { workers: number; rssMiB: number; deployMs: number }

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-batch-'));
const env = { ...process.env, PORT: String(await freePort()) };
const naught = (args: string[]) => run(process.execPath, [CLI, ...args], { cwd: dir, env, timeout: 120_000 });
const results: Record<string, Peak[]> = {};
await naught(['start', '--worker-count', String(WORKERS), SERVER]);
const daemon = Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'));
try {
  for (let i = 0; i < RUNS; i++) {
    for (const setup of setups) {
      console.error(`batch run ${i + 1}/${RUNS}: ${setup.name}`);
      const master = masterOf(daemon);
      let peak = { workers: 0, rssMiB: 0 };
      let done = false;
      const sampling = (async () => {
        while (!done) {
          const workers = children(master);
          const bytes = rss(master) + workers.reduce((sum, pid) => sum + rss(pid), 0);
          peak = { workers: Math.max(peak.workers, workers.length), rssMiB: Math.max(peak.rssMiB, bytes / 2 ** 20) };
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      const at = performance.now();
      await naught(['deploy', ...setup.args]);
      const deployMs = performance.now() - at;
      done = true;
      await sampling;
      (results[setup.name] ??= []).push({ ...peak, deployMs });
    }
  }
} finally {
  await naught(['stop', '--timeout', '3']).catch(() => {});
  killTree(daemon);
  fs.rmSync(dir, { recursive: true, force: true });
}

const headers = ['deploy of 4 workers', 'peak workers', 'peak RSS MiB (master + workers)', 'deploy ms'];
const rows = setups.map(({ name }) => {
  const peaks = results[name]!;
  return [name, String(median(peaks.map((p) => p.workers))), median(peaks.map((p) => p.rssMiB)).toFixed(0), median(peaks.map((p) => p.deployMs)).toFixed(0)];
});
printTable(headers, rows);
const info = machine();
writeResult(path.join(ROOT, 'bench/results/batch.json'), { machine: info, runs: RUNS, workers: WORKERS, results });
writeBenchmarksSection(ROOT, '## Batch deploys', [
  '## Batch deploys',
  '',
  `A deploy of ${WORKERS} idle workers (\`test/fixtures/hello-server.cjs\`), naught's way (every new worker online before any old one goes) against \`--batch-size 1\`: the most worker processes alive at once and the master's and workers' summed RSS, sampled every 10 ms, and the deploy's duration; medians of ${RUNS} deploys. \`npm run bench:batch\`. ${info.cpus} × ${info.cpuModel}, Node ${info.node}.`,
  '',
  ...markdownTable(headers, rows),
  '',
].join('\n'));
