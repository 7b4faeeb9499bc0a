// `npm run bench` (after the supervisors) or `npm run bench:drain`: failed requests for a
// server written exactly as naught 1.6's README says (test/fixtures/as-written/http.cjs,
// no naught/worker), under keep-alive load, across 5 deploys: ours with --drain auto,
// ours with --drain off, and naught 1.6.0 on Node 8, in the same run. Medians of
// BENCH_RUNS runs (default 3) with min-max. Prints a table, writes bench/results/drain.json
// and its section of BENCHMARKS.md.
import autocannon from 'autocannon';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { machine, markdownTable, median, printTable, writeBenchmarksSection, writeResult } from './lib/stats.js';
import { node8 } from '../test/helpers/node-lines.js';
import { freePort, killTree } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SERVER = path.join(ROOT, 'test/fixtures/as-written/http.cjs');
const DEPLOYS = 5;
const LOAD_SECONDS = 12;
const CONNECTIONS = 32;
const run = promisify(execFile);

interface Setup { name: string; node: string; cli: string; startArgs: string[] }
const ours = path.join(ROOT, 'dist/src/bin/naught.js');
const setups: Setup[] = [
  { name: 'naught (this), --drain auto', node: process.execPath, cli: ours, startArgs: [] },
  { name: 'naught (this), --drain off', node: process.execPath, cli: ours, startArgs: ['--drain', 'off'] },
  { name: 'naught 1.6.0 (Node 8)', node: node8(), cli: path.join(ROOT, 'node_modules/naught/lib/main.js'), startArgs: [] },
];


interface Outcome { failed: number; requests: number; deploysDone: number; deployMs: number[] }

async function measure(setup: Setup): Promise<Outcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-drain-'));
  const port = await freePort();
  const env = { ...process.env, PORT: String(port) };
  const naught = (args: string[], timeout = 60_000) => run(setup.node, [setup.cli, ...args], { cwd: dir, env, timeout });
  await naught(['start', '--worker-count', '2', ...setup.startArgs, SERVER]);
  const daemon = Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'));
  try {
    const started = Date.now();
    const load = autocannon({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, duration: LOAD_SECONDS, timeout: 5 });
    const deployMs: number[] = [];
    // naught 1.6's deploys wait on Node 8's close, which waits for keep-alive clients to
    // leave: count the deploys that finish while the load runs.
    const deploys = (async () => {
      for (let i = 0; i < DEPLOYS; i++) {
        const at = performance.now();
        const left = LOAD_SECONDS * 1000 - (Date.now() - started);
        if (left <= 0) return;
        try {
          await naught(['deploy'], left + 5_000);
        } catch {
          return;
        }
        deployMs.push(performance.now() - at);
      }
    })();
    const result = await load;
    await deploys;
    return { failed: result.errors + result.timeouts + result.non2xx, requests: result.requests.total, deploysDone: deployMs.length, deployMs };
  } finally {
    await naught(['stop', '--timeout', '3']).catch(() => {});
    killTree(daemon);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<string, Outcome[]> = {};
for (let i = 0; i < RUNS; i++) {
  for (const setup of setups) {
    console.error(`drain run ${i + 1}/${RUNS}: ${setup.name}`);
    (results[setup.name] ??= []).push(await measure(setup));
  }
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : String(Math.round(n * 10) / 10));
const cell = (values: number[]) => `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})`;
const headers = ['setup', 'failed requests', 'requests', `deploys done of ${DEPLOYS}`, 'deploy ms'];
const rows = setups.map(({ name }) => {
  const outcomes = results[name]!;
  const deployMs = outcomes.flatMap((o) => o.deployMs);
  return [name, cell(outcomes.map((o) => o.failed)), cell(outcomes.map((o) => o.requests)), cell(outcomes.map((o) => o.deploysDone)), deployMs.length ? cell(deployMs) : '-'];
});
printTable(headers, rows);
const info = machine();
writeResult(path.join(ROOT, 'bench/results/drain.json'), { machine: info, runs: RUNS, deploys: DEPLOYS, loadSeconds: LOAD_SECONDS, connections: CONNECTIONS, results });

const section = [
  '## A server as naught 1.6\'s README wrote it, across deploys',
  '',
  `\`test/fixtures/as-written/http.cjs\` (\`server.close(() => process.exit(0))\` on 'shutdown', nothing else), 2 workers, autocannon with ${CONNECTIONS} keep-alive connections for ${LOAD_SECONDS} s, ${DEPLOYS} deploys one after another. Medians of ${RUNS} runs with min-max; deploy ms over every deploy that finished while the load ran. ${info.cpus} × ${info.cpuModel}, Node ${info.node}.`,
  '',
  ...markdownTable(headers, rows),
  '',
].join('\n');
writeBenchmarksSection(ROOT, "## A server as naught 1.6's README wrote it", section);
