// `npm run soak`: 1,000 cycles of one deploy of 2 workers and one worker kill -9, under a
// light keep-alive load on 127.0.0.1. Samples the daemon's and the master's RSS and open
// file descriptors, and the processes under the daemon, at the start, every 100 cycles
// and at the end. Prints a table and writes bench/results/soak.json.
// SOAK_CYCLES (1000) and SOAK_SAMPLE_EVERY (100) change the run.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { machine, printTable, writeResult } from './lib/stats.js';
import { children, descendants, killTree, masterOf, rss } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CYCLES = Number(process.env.SOAK_CYCLES ?? 1000);
const SAMPLE_EVERY = Number(process.env.SOAK_SAMPLE_EVERY ?? 100);
const WARM_UP = SAMPLE_EVERY;
const run = promisify(execFile);
const naughtBin = path.join(ROOT, 'dist/src/bin/naught.js');
/** A request that failed within this long of a kill was in flight on the killed worker. */
const KILL_WINDOW_MS = 250;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-soak-'));
const port = await new Promise<number>((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const { port: p } = server.address() as net.AddressInfo;
    server.close(() => resolve(p));
  });
});
const env = { ...process.env, PORT: String(port) };
const naught = (...args: string[]) => run(process.execPath, [naughtBin, ...args], { cwd: dir, env, timeout: 60_000 });

const fds = (pid: number) => { try { return fs.readdirSync(`/proc/${pid}/fd`).length; } catch { return 0; } };

await naught('start', '--worker-count', '2', path.join(ROOT, 'test/fixtures/hello-server.cjs'));
const daemon = Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8'));

// The light load: two keep-alive clients, one request every 10 ms each, failures timed.
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
const failures: number[] = [];
const kills: number[] = [];
let ok = 0;
let loading = true;
const request = () => new Promise<void>((resolve) => {
  const req = http.get({ host: '127.0.0.1', port, path: '/', agent, timeout: 5000 }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) ok++; else failures.push(Date.now()); resolve(); });
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => { failures.push(Date.now()); resolve(); });
});
const loops = [0, 1].map(async () => {
  while (loading) {
    await request();
    await new Promise((r) => setTimeout(r, 10));
  }
});

interface Sample { cycle: number; daemonRss: number; masterRss: number; daemonFds: number; masterFds: number; processes: number }
const samples: Sample[] = [];
function sample(cycle: number): void {
  const master = masterOf(daemon);
  samples.push({
    cycle, daemonRss: rss(daemon) / 2 ** 20, masterRss: rss(master) / 2 ** 20,
    daemonFds: fds(daemon), masterFds: fds(master), processes: descendants(daemon).length,
  });
  console.error(`cycle ${cycle}: ${JSON.stringify(samples.at(-1))}`);
}

async function workersOnline(except: number | null): Promise<void> {
  for (;;) {
    const workers = children(masterOf(daemon));
    if (workers.length === 2 && (except === null || !workers.includes(except))) {
      const { stdout } = await naught('status');
      if (stdout === 'workers online: 2\n') return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

const started = Date.now();
try {
  await new Promise((r) => setTimeout(r, 1000));
  sample(0);
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    await naught('deploy');
    const [victim] = children(masterOf(daemon));
    if (victim !== undefined) {
      kills.push(Date.now());
      process.kill(victim, 'SIGKILL');
      await workersOnline(victim);
    }
    if (cycle % SAMPLE_EVERY === 0) {
      await new Promise((r) => setTimeout(r, 500));
      sample(cycle);
    }
  }
} finally {
  loading = false;
  await Promise.all(loops);
  agent.destroy();
  await naught('stop', '--timeout', '5').catch(() => {});
  killTree(daemon);
  fs.rmSync(dir, { recursive: true, force: true });
}

const nearKill = (at: number) => kills.some((k) => at >= k && at - k <= KILL_WINDOW_MS);
const outsideKills = failures.filter((at) => !nearKill(at)).length;
const warm = samples.find((s) => s.cycle >= WARM_UP) ?? samples[0]!;
const last = samples.at(-1)!;
printTable(['cycle', 'daemon RSS MiB', 'master RSS MiB', 'daemon fds', 'master fds', 'processes'],
  samples.map((s) => [s.cycle, s.daemonRss.toFixed(1), s.masterRss.toFixed(1), s.daemonFds, s.masterFds, s.processes]));
const summary = {
  cycles: CYCLES, minutes: (Date.now() - started) / 60_000, requests: ok + failures.length, failed: failures.length,
  failedOutsideKills: outsideKills, kills: kills.length,
  rssGrowthAfterWarmUpMiB: { daemon: last.daemonRss - warm.daemonRss, master: last.masterRss - warm.masterRss },
  fdsConstant: samples.every((s) => s.daemonFds === samples[0]!.daemonFds && s.masterFds === samples[0]!.masterFds),
  processesConstant: samples.every((s) => s.processes === samples[0]!.processes),
};
console.log(`\n${JSON.stringify(summary, null, 2)}`);
writeResult(path.join(ROOT, 'bench/results/soak.json'), { machine: machine(), summary, samples });
