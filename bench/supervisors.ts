// `npm run bench`: our naught against naught 1.6.0 (on Node 8, the last Node it runs on),
// in the same run, with the same fixture servers and the same autocannon load on
// 127.0.0.1. Each figure is a median of BENCH_RUNS runs (default 3) with min-max.
// Prints tables, writes bench/results/supervisors.json and the tables into BENCHMARKS.md.
import autocannon from 'autocannon';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { machine, median, printTable, writeResult } from './lib/stats.js';
import { node8 } from './lib/node8.js';
import { children, cpuSeconds, masterOf, rss } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const HELLO = path.join(ROOT, 'test/fixtures/hello-server.cjs');
const CRASHES = path.join(ROOT, 'test/fixtures/crash-before-online.cjs');
const run = promisify(execFile);

interface Supervisor { name: string; node: string; cli: string }
const supervisors: Supervisor[] = [
  { name: 'naught (this)', node: process.execPath, cli: path.join(ROOT, 'dist/src/bin/naught.js') },
  { name: 'naught 1.6.0', node: node8(ROOT), cli: path.join(ROOT, 'node_modules/naught/lib/main.js') },
];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A sandbox serving `server.cjs` (a symlink a scenario re-points) under one supervisor. */
async function serve(sup: Supervisor, workers: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-'));
  const port = await freePort();
  fs.symlinkSync(HELLO, path.join(dir, 'server.cjs'));
  const env = { ...process.env, PORT: String(port) };
  const naught = async (...args: string[]) => {
    const started = performance.now();
    await run(sup.node, [sup.cli, ...args], { cwd: dir, env }).catch(() => {});
    return performance.now() - started;
  };
  const startMs = await naught('start', '--worker-count', String(workers), 'server.cjs');
  const daemon = Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'));
  const release = (file: string) => { fs.rmSync(path.join(dir, 'server.cjs')); fs.symlinkSync(file, path.join(dir, 'server.cjs')); };
  const stop = async () => {
    const ms = await naught('stop', '--timeout', '5');
    for (const pid of [daemon, ...children(daemon).flatMap((p) => [p, ...children(p)])]) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    fs.rmSync(dir, { recursive: true, force: true });
    return ms;
  };
  return { dir, port, daemon, naught, release, stop, startMs };
}

// Without plugins, the daemon's only child is the cluster master, in both supervisors.
const master = masterOf;

type Load = ReturnType<typeof load>;
function load(port: number, keepAlive: boolean, seconds: number) {
  return autocannon({
    url: `http://127.0.0.1:${port}/`, connections: 10, duration: seconds, timeout: 5,
    ...(keepAlive ? {} : { headers: { connection: 'close' } }),
  });
}
const failed = (r: Awaited<Load>) => r.errors + r.timeouts + r.non2xx;

const results: Record<string, Record<string, number[]>> = {};
const record = (scenario: string, sup: Supervisor, value: number) => {
  ((results[scenario] ??= {})[sup.name] ??= []).push(value);
};

async function scenarioFailures(sup: Supervisor, keepAlive: boolean) {
  const kind = keepAlive ? 'keep-alive' : 'new connection';
  const s = await serve(sup, 2);
  try {
    const pending = load(s.port, keepAlive, 8);
    for (let i = 0; i < 5; i++) await s.naught('deploy');
    const r = await pending;
    record(`1. failed requests, 5 deploys, ${kind}`, sup, failed(r));
    record(`1. p50 ms, 5 deploys, ${kind}`, sup, r.latency.p50);
    record(`1. p99 ms, 5 deploys, ${kind}`, sup, r.latency.p99);

    const killLoad = load(s.port, keepAlive, 3);
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(children(master(s.daemon))[0]!, 'SIGKILL');
    record(`1. failed requests, kill -9 a worker, ${kind}`, sup, failed(await killLoad));

    s.release(CRASHES);
    const badLoad = load(s.port, keepAlive, 3);
    await s.naught('deploy');
    record(`1. failed requests, crash-at-boot deploy, ${kind}`, sup, failed(await badLoad));
  } finally {
    await s.stop();
  }
}

async function scenarioLatencies(sup: Supervisor) {
  for (const workers of [1, 2]) {
    const s = await serve(sup, workers);
    record(`3. start ms (${workers} worker${workers > 1 ? 's' : ''})`, sup, s.startMs);
    const deploys: number[] = [];
    for (let i = 0; i < 3; i++) deploys.push(await s.naught('deploy'));
    record(`2. deploy ms, ${workers} worker${workers > 1 ? 's' : ''}`, sup, median(deploys));
    if (workers === 2) {
      const pids = new Set(children(master(s.daemon)));
      const victim = [...pids][0]!;
      const killedAt = performance.now();
      process.kill(victim, 'SIGKILL');
      await replacementServing(s.port, pids);
      record('4. crash to replacement serving ms', sup, performance.now() - killedAt);
    }
    record(`3. stop ms (${workers} worker${workers > 1 ? 's' : ''})`, sup, await s.stop());
  }
}

async function replacementServing(port: number, old: Set<number>): Promise<void> {
  for (;;) {
    const pid = await new Promise<number>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => { data += d; });
      socket.on('close', () => resolve(Number(/"pid":(\d+)/.exec(data)?.[1] ?? 0)));
      socket.on('error', () => {});
    });
    if (pid && !old.has(pid)) return;
  }
}

async function scenarioThroughput(sup: Supervisor) {
  for (const workers of [1, 2]) {
    const s = await serve(sup, workers);
    try {
      record(`5. requests/s, ${workers} worker${workers > 1 ? 's' : ''}`, sup, (await load(s.port, true, 5)).requests.average);
    } finally {
      await s.stop();
    }
  }
}

async function directCeiling(): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [HELLO], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'ignore', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));
  const r = await load(port, true, 5);
  child.kill('SIGKILL');
  return r.requests.average;
}

async function scenarioFootprint(sup: Supervisor) {
  const s = await serve(sup, 2);
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const supervisorPids = [s.daemon, master(s.daemon)];
    record('6. supervisor RSS MiB (daemon + master)', sup, supervisorPids.reduce((sum, pid) => sum + rss(pid), 0) / 2 ** 20);
    const before = supervisorPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const after = supervisorPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    record(`6. idle CPU % of a core over ${IDLE_SECONDS} s`, sup, ((after - before) / IDLE_SECONDS) * 100);
  } finally {
    await s.stop();
  }
}

for (let i = 0; i < RUNS; i++) {
  for (const sup of supervisors) {
    console.error(`run ${i + 1}/${RUNS}: ${sup.name}`);
    await scenarioFailures(sup, true);
    await scenarioFailures(sup, false);
    await scenarioLatencies(sup);
    await scenarioThroughput(sup);
    if (i === 0) await scenarioFootprint(sup);
  }
  ((results['5. requests/s, direct single process (ceiling)'] ??= {})['direct'] ??= []).push(await directCeiling());
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n % 1 === 0 ? 0 : 2));
const cell = (values: number[] | undefined) => (values && values.length ? `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})` : '-');
const rows = Object.keys(results).sort().map((scenario) => {
  const ours = results[scenario]![supervisors[0]!.name] ?? results[scenario]!.direct;
  const theirs = results[scenario]![supervisors[1]!.name];
  const ratio = ours && theirs && median(theirs) !== 0 ? `${(median(ours) / median(theirs)).toFixed(2)}×` : '-';
  return [scenario, cell(ours), cell(theirs), ratio];
});
const headers = ['scenario', 'naught (this)', 'naught 1.6.0', 'ratio'];
printTable(headers, rows);
console.log('7. scaling with cores: skipped (no 16-core device was lent to this session)');
const info = machine();
writeResult(path.join(ROOT, 'bench/results/supervisors.json'), { machine: info, runs: RUNS, idleSeconds: IDLE_SECONDS, results });
const table = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
fs.writeFileSync(path.join(ROOT, 'BENCHMARKS.md'), `# Benchmarks\n\nLatest \`npm run bench\`: ${info.cpus} × ${info.cpuModel}, ${info.platform}, our naught on Node ${info.node}, naught 1.6.0 on Node 8.17.0; medians of ${RUNS} runs with min-max; ratio = ours / naught 1.6.0. The footprint is from the first run only (${IDLE_SECONDS} s idle).\n\n${table}\n\n7. Scaling with cores: skipped; no 16-core device was lent to this session.\n`);
