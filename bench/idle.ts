// `npm run bench` (last) or `npm run bench:idle`: what an idle supervisor costs. Three
// run side by side, each with 2 idle workers: ours, ours with the Prometheus plugin (not
// scraped), and naught 1.6.0 on Node 8. CPU of the daemon and master together (and of
// the plugin's host) over IDLE_SECONDS (default 60) windows, BENCH_RUNS (default 3)
// windows. Prints a table, writes bench/results/idle.json and its BENCHMARKS.md section.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { machine, markdownTable, median, printTable, writeBenchmarksSection, writeResult } from './lib/stats.js';
import { node8 } from '../test/helpers/node-lines.js';
import { children, commandLine, cpuSeconds, freePort, killTree, masterOf, rss } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.IDLE_SECONDS ?? 60);
const SERVER = path.join(ROOT, 'test/fixtures/hello-server.cjs');
const run = promisify(execFile);

interface Setup { name: string; node: string; cli: string; startArgs: (metricsPort: number) => string[] }
const ours = path.join(ROOT, 'dist/src/bin/naught.js');
const setups: Setup[] = [
  { name: 'naught (this)', node: process.execPath, cli: ours, startArgs: () => [] },
  { name: 'naught (this), Prometheus plugin', node: process.execPath, cli: ours, startArgs: (port) => ['--plugin', `naught/plugins/prometheus={"port":${port}}`] },
  { name: 'naught 1.6.0 (Node 8)', node: node8(), cli: path.join(ROOT, 'node_modules/naught/lib/main.js'), startArgs: () => [] },
];


interface Running { setup: Setup; dir: string; daemon: number; master: number; plugin: number | null; stop(): Promise<void> }

async function start(setup: Setup): Promise<Running> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-idle-'));
  const env = { ...process.env, PORT: String(await freePort()) };
  const naught = (args: string[]) => run(setup.node, [setup.cli, ...args], { cwd: dir, env, timeout: 60_000 });
  await naught(['start', '--worker-count', '2', ...setup.startArgs(await freePort()), SERVER]);
  const daemon = Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'));
  const plugin = children(daemon).find((pid) => /plugin-host\.js/.test(commandLine(pid))) ?? null;
  return {
    setup, dir, daemon, master: masterOf(daemon), plugin,
    async stop() {
      await naught(['stop', '--timeout', '3']).catch(() => {});
      killTree(daemon);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface Window { supervisorPercent: number; pluginPercent: number | null; daemonRssMiB: number; masterRssMiB: number }

const running: Running[] = [];
const results: Record<string, Window[]> = {};
try {
  for (const setup of setups) running.push(await start(setup));
  await new Promise((resolve) => setTimeout(resolve, 5_000)); // past the boot
  for (let i = 0; i < RUNS; i++) {
    console.error(`idle window ${i + 1}/${RUNS}: ${SECONDS} s`);
    const before = running.map((r) => ({ supervisor: cpuSeconds(r.daemon) + cpuSeconds(r.master), plugin: r.plugin ? cpuSeconds(r.plugin) : 0 }));
    const at = performance.now();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const seconds = (performance.now() - at) / 1000;
    running.forEach((r, k) => {
      (results[r.setup.name] ??= []).push({
        supervisorPercent: (100 * (cpuSeconds(r.daemon) + cpuSeconds(r.master) - before[k]!.supervisor)) / seconds,
        pluginPercent: r.plugin ? (100 * (cpuSeconds(r.plugin) - before[k]!.plugin)) / seconds : null,
        daemonRssMiB: rss(r.daemon) / 2 ** 20,
        masterRssMiB: rss(r.master) / 2 ** 20,
      });
    });
  }
} finally {
  for (const r of running) await r.stop();
}

const fmt = (n: number) => n.toFixed(3);
const cell = (values: number[]) => `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})`;
const headers = ['setup', 'daemon + master CPU %', 'plugin host CPU %', 'daemon RSS MiB', 'master RSS MiB'];
const rows = setups.map(({ name }) => {
  const windows = results[name]!;
  const plugin = windows.map((w) => w.pluginPercent).filter((p): p is number => p !== null);
  return [name, cell(windows.map((w) => w.supervisorPercent)), plugin.length ? cell(plugin) : '-',
    median(windows.map((w) => w.daemonRssMiB)).toFixed(1), median(windows.map((w) => w.masterRssMiB)).toFixed(1)];
});
printTable(headers, rows);
const info = machine();
writeResult(path.join(ROOT, 'bench/results/idle.json'), { machine: info, runs: RUNS, seconds: SECONDS, results });
writeBenchmarksSection(ROOT, '## Idle cost', [
  '## Idle cost',
  '',
  `Three supervisors side by side, 2 idle workers each (\`test/fixtures/hello-server.cjs\`), nobody asking: CPU of the daemon and master together over ${SECONDS} s windows, in % of one core; medians of ${RUNS} windows with min-max. The Prometheus plugin is loaded but not scraped: its gauges are read only at a scrape. \`npm run bench:idle\`. ${info.cpus} × ${info.cpuModel}, Node ${info.node}.`,
  '',
  ...markdownTable(headers, rows),
  '',
].join('\n'));
