// `npm run bench` or `npm run bench:lean`: naught's own cost, each figure beside the floor
// Node 20 sets, measured in the same run (issue: "lean and quick"):
//   CLI         `naught version` and `naught status` (a running daemon) against `node -e 0`
//   start, deploy, stop
//               2 workers of the instant-boot fixture, against bench/floors/cluster.cjs:
//               plain node:cluster doing the same work, asked by a `node -e` client
//   memory      daemon + master RSS with 2 idle workers, against 2 bare Node processes
//               + 8 MiB; and again after BENCH_DEPLOYS (default 100) deploys
//   idle        clock ticks (and CPU ms) of daemon + master over IDLE_SECONDS (default 60),
//               from SETTLE_MS after the deploys: V8's memory reducer collects once some
//               8 s after activity (about 15 ms in each process), and idle is what follows
// BENCH_RUNS (default 3) runs; medians. Prints each ratio beside its target, writes
// bench/results/lean.json and its BENCHMARKS.md section.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, markdownTable, median, printTable, writeBenchmarksSection, writeResult } from './lib/stats.js';
import { freePort, killTree, masterOf, rss } from './lib/proc.js';
import { cpuNs, cpuTicks as ticks } from '../test/helpers/cpu.js';

const cpuMs = (pid: number) => cpuNs(pid) / 1e6;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DEPLOYS = Number(process.env.BENCH_DEPLOYS ?? 100);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 60);
const SAMPLES = 15;
const SETTLE_MS = 12_000;
const CLI = path.join(ROOT, 'dist/src/bin/naught.js');
const SERVER = path.join(ROOT, 'test/fixtures/hello-server.cjs');
const FLOOR = path.join(ROOT, 'bench/floors/cluster.cjs');
const CLIENT = "require('net').connect(process.argv[1]).on('connect',function(){this.write(process.argv[2]+'\\n')}).on('data',()=>process.exit(0))";
const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/** Wall time of one command, spawn to exit, in ms. */
function timed(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const at = performance.now();
  const result = spawnSync(process.execPath, args, { ...options, stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`);
  return performance.now() - at;
}

const medianOf = (n: number, once: () => number) => median(Array.from({ length: n }, once));

/** Resident memory of a process by kind, from /proc/PID/smaps_rollup, in MiB. */
function memoryOf(pid: number): { rss: number; anon: number; file: number } {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return { rss: kib('Rss'), anon: kib('Anonymous'), file: kib('Rss') - kib('Anonymous') };
}

/** A bare Node 20 process, idle: the memory floor. */
async function bareNode(): Promise<{ rss: number; anon: number; file: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
  await sleep(500);
  const memory = memoryOf(child.pid!);
  child.kill('SIGKILL');
  return memory;
}

interface Run {
  nodeMs: number; versionMs: number; statusMs: number;
  start: { ours: number; floor: number }; deploy: { ours: number; floor: number }; stop: { ours: number; floor: number };
  memory: { daemon: ReturnType<typeof memoryOf>; master: ReturnType<typeof memoryOf>; bare: ReturnType<typeof memoryOf> };
  idleTicks: { daemon: number; master: number };
  idleCpuMs: number;
}

async function ours(dir: string, env: NodeJS.ProcessEnv): Promise<Omit<Run, 'nodeMs' | 'start' | 'deploy' | 'stop'> & { start: number; deploy: number; stop: number }> {
  const naught = (args: string[]) => timed([CLI, ...args], { cwd: dir, env });
  const start = naught(['start', '--worker-count', '2', SERVER]);
  const daemon = Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'));
  try {
    const versionMs = medianOf(SAMPLES, () => naught(['version']));
    const statusMs = medianOf(SAMPLES, () => naught(['status']));
    const deploy = medianOf(5, () => naught(['deploy']));
    await sleep(2000);
    const master = masterOf(daemon);
    const memory = { daemon: memoryOf(daemon), master: memoryOf(master), bare: await bareNode() };
    await sleep(SETTLE_MS);
    const before = { daemon: ticks(daemon), master: ticks(master), cpu: cpuMs(daemon) + cpuMs(master) };
    await sleep(IDLE_SECONDS * 1000);
    const idleTicks = { daemon: ticks(daemon) - before.daemon, master: ticks(master) - before.master };
    const idleCpuMs = cpuMs(daemon) + cpuMs(master) - before.cpu;
    return { versionMs, statusMs, start, deploy, stop: naught(['stop']), memory, idleTicks, idleCpuMs };
  } finally {
    killTree(daemon);
  }
}

async function floor(dir: string, env: NodeJS.ProcessEnv): Promise<{ start: number; deploy: number; stop: number }> {
  const socket = path.join(dir, 'floor.sock');
  const at = performance.now();
  const primary = spawn(process.execPath, [FLOOR, socket, '2', SERVER], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => primary.stdout.on('data', (d: Buffer) => { if (String(d).includes('ready')) resolve(); }));
  const start = performance.now() - at;
  const ask = (what: string) => timed(['-e', CLIENT, socket, what]);
  const deploy = medianOf(5, () => ask('deploy'));
  const stop = ask('stop');
  await new Promise((resolve) => (primary.exitCode === null ? primary.once('exit', resolve) : resolve(null)));
  return { start, deploy, stop };
}

const runs: Run[] = [];
for (let i = 0; i < RUNS; i++) {
  console.error(`lean run ${i + 1}/${RUNS}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-lean-'));
  const env = { ...process.env, PORT: String(await freePort()) };
  try {
    const nodeMs = medianOf(SAMPLES, () => timed(['-e', '0']));
    const base = await floor(dir, env);
    const ourRun = await ours(dir, env);
    runs.push({
      nodeMs, versionMs: ourRun.versionMs, statusMs: ourRun.statusMs, memory: ourRun.memory, idleTicks: ourRun.idleTicks, idleCpuMs: ourRun.idleCpuMs,
      start: { ours: ourRun.start, floor: base.start }, deploy: { ours: ourRun.deploy, floor: base.deploy }, stop: { ours: ourRun.stop, floor: base.stop },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Memory after many deploys, once: does anything grow?
console.error(`lean: ${DEPLOYS} deploys`);
const many = await (async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-lean-'));
  const env = { ...process.env, PORT: String(await freePort()) };
  const naught = (args: string[]) => timed([CLI, ...args], { cwd: dir, env });
  naught(['start', '--worker-count', '2', SERVER]);
  const daemon = Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'));
  try {
    const sample = () => ({ daemon: rss(daemon) / MiB, master: rss(masterOf(daemon)) / MiB });
    await sleep(1000);
    const first = sample();
    for (let i = 0; i < DEPLOYS; i++) naught(['deploy']);
    await sleep(1000);
    return { before: first, after: sample() };
  } finally {
    naught(['stop']);
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();

const m = (pick: (run: Run) => number) => median(runs.map(pick));
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const node = m((r) => r.nodeMs);
const supervisorRss = m((r) => r.memory.daemon.rss + r.memory.master.rss);
const bare = m((r) => r.memory.bare.rss);
const memoryTarget = 2 * bare + 8;
const idle = m((r) => r.idleTicks.daemon + r.idleTicks.master);
const headers = ['what', 'naught', 'floor', 'ratio', 'target', 'met'];
const rows: string[][] = [
  ['`naught version`', `${m((r) => r.versionMs).toFixed(1)} ms`, `${node.toFixed(1)} ms (node -e 0)`, ratio(m((r) => r.versionMs), node), '≤ 1.15×', m((r) => r.versionMs) / node <= 1.15 ? 'yes' : 'no'],
  ['`naught status`', `${m((r) => r.statusMs).toFixed(1)} ms`, `${node.toFixed(1)} ms (node -e 0)`, ratio(m((r) => r.statusMs), node), '≤ 1.15×', m((r) => r.statusMs) / node <= 1.15 ? 'yes' : 'no'],
  ...(['start', 'deploy', 'stop'] as const).map((what) => {
    const [ourMs, floorMs] = [m((r) => r[what].ours), m((r) => r[what].floor)];
    return [`${what}, 2 workers`, `${ourMs.toFixed(0)} ms`, `${floorMs.toFixed(0)} ms (node:cluster)`, ratio(ourMs, floorMs), '≤ 1.15×', ourMs / floorMs <= 1.15 ? 'yes' : 'no'];
  }),
  ['daemon + master RSS, 2 idle workers', `${supervisorRss.toFixed(1)} MiB`, `${bare.toFixed(1)} MiB (bare node)`, `${(supervisorRss - memoryTarget).toFixed(1)} MiB over`, '≤ 2 × bare + 8 MiB', supervisorRss <= memoryTarget ? 'yes' : 'no'],
  [`RSS after ${DEPLOYS} deploys`, `${(many.after.daemon + many.after.master).toFixed(1)} MiB`, `${(many.before.daemon + many.before.master).toFixed(1)} MiB (before)`, `${(many.after.daemon + many.after.master - many.before.daemon - many.before.master).toFixed(1)} MiB`, 'flat', Math.abs(many.after.daemon + many.after.master - many.before.daemon - many.before.master) < 4 ? 'yes' : 'no'],
  [`idle ticks, daemon + master, ${IDLE_SECONDS} s`, `${idle} (${m((r) => r.idleCpuMs).toFixed(1)} ms CPU)`, '0', '-', '0', idle === 0 ? 'yes' : 'no'],
];
printTable(headers, rows);
const breakdown = {
  daemon: { rss: m((r) => r.memory.daemon.rss), anon: m((r) => r.memory.daemon.anon), file: m((r) => r.memory.daemon.file) },
  master: { rss: m((r) => r.memory.master.rss), anon: m((r) => r.memory.master.anon), file: m((r) => r.memory.master.file) },
  bare: { rss: bare, anon: m((r) => r.memory.bare.anon), file: m((r) => r.memory.bare.file) },
};
const info = machine();
writeResult(path.join(ROOT, 'bench/results/lean.json'), { machine: info, runs: RUNS, deploys: DEPLOYS, idleSeconds: IDLE_SECONDS, results: runs, many, breakdown });
const mib = (x: { rss: number; anon: number; file: number }) => `${x.rss.toFixed(1)} (${x.anon.toFixed(1)} anonymous, ${x.file.toFixed(1)} file-backed)`;
writeBenchmarksSection(ROOT, '## Lean: naught beside the floors', [
  '## Lean: naught beside the floors',
  '',
  `Each figure beside the floor Node 20 sets, measured in the same run: \`node -e 0\` for the CLI; for start, deploy and stop, \`bench/floors/cluster.cjs\`, plain node:cluster doing the same replacement (fork, wait for 'online', 'shutdown', disconnect, wait for exit) asked by a \`node -e\` client; a bare idle Node process for memory. 2 workers of \`test/fixtures/hello-server.cjs\`; medians of ${RUNS} runs (${SAMPLES} CLI calls and 5 deploys each). \`npm run bench:lean\`. ${info.cpus} × ${info.cpuModel}, Node ${info.node}.`,
  '',
  ...markdownTable(headers, rows),
  '',
  `Memory, MiB RSS: daemon ${mib(breakdown.daemon)}, master ${mib(breakdown.master)}, a bare Node process ${mib(breakdown.bare)}.`,
  '',
].join('\n'));
