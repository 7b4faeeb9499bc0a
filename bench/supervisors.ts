// `npm run bench`: our naught against naught 1.6.0 (on Node 8, the last Node it runs on),
// and with --with-pm2 against PM2 too, in the same run, with the same fixture servers and
// the same autocannon load on 127.0.0.1. Each figure is a median of BENCH_RUNS runs (default 3) with min-max.
// Prints tables, writes bench/results/supervisors.json and the tables into BENCHMARKS.md.
import autocannon from 'autocannon';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { machine, markdownTable, median, printTable, writeResult } from './lib/stats.js';
import { node8 } from '../test/helpers/node-lines.js';
import { children, cpuSeconds, freePort, killTree, masterOf, rss } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const HELLO = path.join(ROOT, 'test/fixtures/hello-server.cjs');
const CRASHES = path.join(ROOT, 'test/fixtures/crash-before-online.cjs');
const run = promisify(execFile);

/** How a bench drives one supervisor: its command line, and where its processes are. */
interface Supervisor {
  name: string;
  node: string;
  cli: string;
  env?(dir: string): Record<string, string>;
  start(workers: number): string[];
  deploy: string[];
  stop: string[];
  daemon(dir: string): number;
  /** The cluster primary, whose children are the workers. */
  master(daemon: number): number;
}

const naughtCommands = {
  start: (workers: number) => ['start', '--worker-count', String(workers), 'server.cjs'],
  deploy: ['deploy'],
  stop: ['stop', '--timeout', '5'],
  daemon: (dir: string) => Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8')),
  // Without plugins, the daemon's children are the cluster master and, after a rotation, our compressor.
  master: masterOf,
};

const supervisors: Supervisor[] = [
  { name: 'naught (this)', node: process.execPath, cli: path.join(ROOT, 'dist/src/bin/naught.js'), ...naughtCommands },
  { name: 'naught 1.6.0', node: node8(), cli: path.join(ROOT, 'node_modules/naught/lib/main.js'), ...naughtCommands },
];

/**
 * PM2 in cluster mode, installed into a temporary folder. `reload` is its zero-downtime
 * deploy; --shutdown-with-message sends the fixture the same 'shutdown' message naught
 * does. Its daemon (the "God" process) is also the cluster primary.
 */
async function installPm2(): Promise<{ supervisor: Supervisor; remove(): void }> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-bench-pm2-'));
  console.error(`installing pm2 into ${folder}`);
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefix', folder, 'pm2@7'], { timeout: 300_000 });
  const version = (JSON.parse(fs.readFileSync(path.join(folder, 'node_modules/pm2/package.json'), 'utf8')) as { version: string }).version;
  const home = (dir: string) => path.join(dir, '.pm2');
  const supervisor: Supervisor = {
    name: `PM2 ${version}`,
    node: process.execPath,
    cli: path.join(folder, 'node_modules/pm2/bin/pm2'),
    env: (dir) => ({ PM2_HOME: home(dir) }),
    start: (workers) => ['start', 'server.cjs', '--name', 'app', '-i', String(workers), '--shutdown-with-message', '--kill-timeout', '5000'],
    deploy: ['reload', 'app'],
    stop: ['kill'],
    daemon: (dir) => Number(fs.readFileSync(path.join(home(dir), 'pm2.pid'), 'utf8')),
    master: (daemon) => daemon,
  };
  return { supervisor, remove: () => fs.rmSync(folder, { recursive: true, force: true }) };
}


/** A sandbox serving `server.cjs` (a symlink a scenario re-points) under one supervisor. */
async function serve(sup: Supervisor, workers: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-'));
  const port = await freePort();
  fs.symlinkSync(HELLO, path.join(dir, 'server.cjs'));
  const env = { ...process.env, PORT: String(port), ...sup.env?.(dir) };
  const command = async (args: string[]) => {
    const started = performance.now();
    await run(sup.node, [sup.cli, ...args], { cwd: dir, env, timeout: 60_000 }).catch(() => {});
    return performance.now() - started;
  };
  const startMs = await command(sup.start(workers));
  const daemon = sup.daemon(dir);
  const master = () => sup.master(daemon);
  const release = (file: string) => { fs.rmSync(path.join(dir, 'server.cjs')); fs.symlinkSync(file, path.join(dir, 'server.cjs')); };
  const deploy = () => command(sup.deploy);
  const stop = async () => {
    const ms = await command(sup.stop);
    killTree(daemon);
    fs.rmSync(dir, { recursive: true, force: true });
    return ms;
  };
  return { dir, port, daemon, master, release, deploy, stop, startMs };
}

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
    for (let i = 0; i < 5; i++) await s.deploy();
    const r = await pending;
    record(`1. failed requests, 5 deploys, ${kind}`, sup, failed(r));
    record(`1. p50 ms, 5 deploys, ${kind}`, sup, r.latency.p50);
    record(`1. p99 ms, 5 deploys, ${kind}`, sup, r.latency.p99);

    const killLoad = load(s.port, keepAlive, 3);
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(children(s.master())[0]!, 'SIGKILL');
    record(`1. failed requests, kill -9 a worker, ${kind}`, sup, failed(await killLoad));

    s.release(CRASHES);
    const badLoad = load(s.port, keepAlive, 3);
    await s.deploy();
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
    for (let i = 0; i < 3; i++) deploys.push(await s.deploy());
    record(`2. deploy ms, ${workers} worker${workers > 1 ? 's' : ''}`, sup, median(deploys));
    if (workers === 2) {
      const pids = new Set(children(s.master()));
      const victim = [...pids][0]!;
      const killedAt = performance.now();
      process.kill(victim, 'SIGKILL');
      await replacementServing(s.port, pids);
      record('4. crash to replacement serving ms', sup, performance.now() - killedAt);
    }
    record(`3. stop ms (${workers} worker${workers > 1 ? 's' : ''})`, sup, await s.stop());
  }
}

/**
 * Probes every 5 ms, without waiting for earlier probes: a connection the cluster primary
 * handed to the killed worker is never answered (Node's round-robin hand-off has no
 * timeout), and must not hold up the probes after it.
 */
async function replacementServing(port: number, old: Set<number>): Promise<void> {
  let served = false;
  const probes = new Set<net.Socket>();
  while (!served) {
    const socket = net.connect(port, '127.0.0.1', () => socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    probes.add(socket);
    let data = '';
    socket.on('data', (d) => { data += d; });
    socket.on('error', () => {});
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('close', () => {
      probes.delete(socket);
      const pid = Number(/"pid":(\d+)/.exec(data)?.[1] ?? 0);
      if (pid && !old.has(pid)) served = true;
    });
    await new Promise((r) => setTimeout(r, 5));
  }
  for (const probe of probes) probe.destroy();
}

async function scenarioThroughput(sup: Supervisor) {
  for (const workers of [1, 2]) {
    const s = await serve(sup, workers);
    try {
      record(`5. requests/s, ${workers} worker${workers > 1 ? 's' : ''}`, sup, (await load(s.port, true, 5)).requests.average);
      // A connection per request: where the master's hand-off bookkeeping (src/cluster/handoffs.ts) costs, if anywhere.
      if (workers === 2) record('5. requests/s, 2 workers, new connection', sup, (await load(s.port, false, 5)).requests.average);
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
    const supervisorPids = [...new Set([s.daemon, s.master()])];
    record('6. supervisor RSS MiB (daemon + master)', sup, supervisorPids.reduce((sum, pid) => sum + rss(pid), 0) / 2 ** 20);
    const before = supervisorPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const after = supervisorPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    record(`6. idle CPU % of a core over ${IDLE_SECONDS} s`, sup, ((after - before) / IDLE_SECONDS) * 100);
  } finally {
    await s.stop();
  }
}

const pm2 = process.argv.includes('--with-pm2') ? await installPm2() : null;
if (pm2) supervisors.push(pm2.supervisor);
try {
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
} finally {
  pm2?.remove();
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n % 1 === 0 ? 0 : 2));
const cell = (values: number[] | undefined) => (values && values.length ? `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})` : '-');
const ratio = (ours: number[] | undefined, theirs: number[] | undefined) => (ours && theirs && median(theirs) !== 0 ? `${(median(ours) / median(theirs)).toFixed(2)}×` : '-');
const [mine, old, other] = supervisors;
const rows = Object.keys(results).sort().map((scenario) => {
  const figures = results[scenario]!;
  const ours = figures[mine!.name] ?? figures.direct;
  const row = [scenario, cell(ours), cell(figures[old!.name]), ratio(ours, figures[old!.name])];
  return other ? [...row, cell(figures[other.name]), ratio(ours, figures[other.name])] : row;
});
const headers = ['scenario', mine!.name, old!.name, 'ratio', ...(other ? [other.name, `ratio to ${other.name}`] : [])];
printTable(headers, rows);
console.log('7. scaling with cores: skipped (no 16-core device was lent to this session)');
const info = machine();
writeResult(path.join(ROOT, 'bench/results/supervisors.json'), { machine: info, runs: RUNS, idleSeconds: IDLE_SECONDS, supervisors: supervisors.map((s) => s.name), results });
const table = markdownTable(headers, rows).join('\n');
const pm2Note = other
  ? ` ${other.name} (cluster mode, \`reload\` as its deploy, \`--shutdown-with-message\`) on Node ${info.node}; its \`start\` returns once the workers are forked, before they listen.`
  : ' PM2 not included (`npm run bench -- --with-pm2` adds it).';
// Sections other benches write (`## …`) are kept.
const benchmarksFile = path.join(ROOT, 'BENCHMARKS.md');
const previous = fs.existsSync(benchmarksFile) ? fs.readFileSync(benchmarksFile, 'utf8') : '';
const otherSections = previous.includes('\n## ') ? previous.slice(previous.indexOf('\n## ')) : '';
fs.writeFileSync(benchmarksFile, `# Benchmarks\n\nLatest \`npm run bench\`: ${info.cpus} × ${info.cpuModel}, ${info.platform}, our naught on Node ${info.node}, naught 1.6.0 on Node 8.17.0.${pm2Note} Medians of ${RUNS} runs with min-max; ratio = ours / theirs. The footprint is from the first run only (${IDLE_SECONDS} s idle).\n\n${table}\n\n7. Scaling with cores: skipped; no 16-core device was lent to this session.\n${otherSections}`);
