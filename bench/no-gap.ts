// `npm run bench` or `npm run bench:no-gap`: requests that fail while naught changes what
// serves them, under a keep-alive load and a new-connection load (4 clients each), with
// 2 workers of a naught/worker server. BENCH_RUNS (default 3) runs of each:
//   deploy          `naught deploy`, sockets held by naught (`start --listen`)
//   upgrade         `naught upgrade` to another build of naught (another version)
//   restart         a full `stop` and `start` of naught under a holder that keeps the
//                   listening socket as a systemd .socket unit does
//   stop + start    the same without held sockets (plain server.listen(port)): what
//                   upgrading naught meant before `naught upgrade`
// Prints a table, writes bench/results/no-gap.json and its BENCHMARKS.md section.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startLoad, type LoadResult } from '../test/helpers/load.js';
import { machine, markdownTable, median, printTable, writeBenchmarksSection, writeResult } from './lib/stats.js';
import { freePort, killTree } from './lib/proc.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLI = path.join(ROOT, 'dist/src/bin/naught.js');
const HELPED = path.join(ROOT, 'test/fixtures/helper/activated.mjs');
const PLAIN = path.join(ROOT, 'test/fixtures/hello-server.cjs');
const HOLDER = path.join(ROOT, 'test/fixtures/socket-holder.py');
const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


/** Another install of this build under another version: what `naught upgrade` goes to. */
function otherBuild(dir: string): string {
  fs.cpSync(path.join(ROOT, 'dist/src'), path.join(dir, 'dist/src'), { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, version: `${pkg.version}-next` }));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return path.join(dir, 'dist/src/bin/naught.js');
}

interface Outcome { keepAlive: LoadResult; fresh: LoadResult }

/** Both loads across `change`, with 300 ms of load before and after it. */
async function underLoad(port: number, change: () => Promise<unknown>): Promise<Outcome> {
  const keepAlive = startLoad({ port, keepAlive: true, concurrency: 4, maxRequests: 1e9, maxMs: 120_000 });
  const fresh = startLoad({ port, keepAlive: false, concurrency: 4, maxRequests: 1e9, maxMs: 120_000 });
  await sleep(300);
  await change();
  await sleep(300);
  return { keepAlive: await keepAlive.stop(), fresh: await fresh.stop() };
}

async function waitUntil(check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(25);
  }
}

const scenarios: { name: string; run(dir: string, port: number): Promise<Outcome> }[] = [
  {
    name: 'deploy (--listen)',
    async run(dir, port) {
      const naught = (args: string[]) => execFileAsync(process.execPath, [CLI, ...args], { cwd: dir, timeout: 120_000 });
      await naught(['start', '--worker-count', '2', '--listen', `http=127.0.0.1:${port}`, HELPED]);
      try {
        return await underLoad(port, () => naught(['deploy']));
      } finally {
        await naught(['stop', '--timeout', '3']);
      }
    },
  },
  {
    name: 'naught upgrade',
    async run(dir, port) {
      const next = otherBuild(path.join(dir, 'next'));
      const naught = (bin: string, args: string[]) => execFileAsync(process.execPath, [bin, ...args], { cwd: dir, timeout: 120_000 });
      await naught(CLI, ['start', '--worker-count', '2', '--listen', `http=127.0.0.1:${port}`, HELPED]);
      try {
        return await underLoad(port, () => naught(next, ['upgrade']));
      } finally {
        await naught(next, ['stop', '--timeout', '3']);
      }
    },
  },
  {
    name: 'stop + start, socket held (.socket unit)',
    async run(dir, port) {
      const holder = spawn('python3', [HOLDER, String(port), process.execPath, CLI, 'start', '--daemon-mode', 'false', '--worker-count', '2', HELPED],
        { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
      let said = '';
      holder.stdout.on('data', (d: Buffer) => { said += d; });
      const serving = async () => (await execFileAsync(process.execPath, [CLI, 'status'], { cwd: dir }).catch(() => ({ stdout: '' }))).stdout === 'workers online: 2\n';
      try {
        await waitUntil(serving);
        return await underLoad(port, async () => {
          holder.kill('SIGUSR1');
          await waitUntil(() => (said.match(/^started \d+$/gm) ?? []).length === 2);
          await waitUntil(serving);
        });
      } finally {
        holder.kill('SIGTERM');
        await new Promise((resolve) => holder.once('exit', resolve));
      }
    },
  },
  {
    name: 'stop + start, plain listen (before upgrade)',
    async run(dir, port) {
      const env = { ...process.env, PORT: String(port) };
      const naught = (args: string[]) => execFileAsync(process.execPath, [CLI, ...args], { cwd: dir, env, timeout: 120_000 });
      await naught(['start', '--worker-count', '2', PLAIN]);
      try {
        return await underLoad(port, async () => {
          await naught(['stop']);
          await naught(['start', '--worker-count', '2', PLAIN]);
        });
      } finally {
        await naught(['stop', '--timeout', '3']);
      }
    },
  },
];

const results: Record<string, Outcome[]> = {};
for (let i = 0; i < RUNS; i++) {
  for (const scenario of scenarios) {
    console.error(`no-gap run ${i + 1}/${RUNS}: ${scenario.name}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nb-gap-'));
    try {
      (results[scenario.name] ??= []).push(await scenario.run(dir, await freePort()));
    } finally {
      // Whatever a failed run left: the pid file's daemon and its descendants.
      const pid = Number(fs.existsSync(path.join(dir, 'naught.pid')) ? fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8') : 0);
      if (pid > 0) killTree(pid);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

const headers = ['what changes, under load', 'keep-alive requests (median)', 'failed', 'new-connection requests (median)', 'failed', `failed in all ${RUNS} runs`];
const rows = scenarios.map(({ name }) => {
  const runs = results[name]!;
  const failed = (r: LoadResult) => r.failures.length;
  return [
    name,
    String(median(runs.map((r) => r.keepAlive.ok + failed(r.keepAlive)))), String(median(runs.map((r) => failed(r.keepAlive)))),
    String(median(runs.map((r) => r.fresh.ok + failed(r.fresh)))), String(median(runs.map((r) => failed(r.fresh)))),
    String(runs.reduce((sum, r) => sum + failed(r.keepAlive) + failed(r.fresh), 0)),
  ];
});
printTable(headers, rows);
const info = machine();
const reasons = Object.fromEntries(scenarios.map(({ name }) => [name, [...new Set(results[name]!.flatMap((r) => [...r.keepAlive.failures, ...r.fresh.failures].map((f) => f.reason.replace(/127\.0\.0\.1:\d+/, 'the port'))))]]));
writeResult(path.join(ROOT, 'bench/results/no-gap.json'), {
  machine: info, runs: RUNS,
  results: Object.fromEntries(Object.entries(results).map(([name, runs]) => [name, runs.map((r) => ({
    keepAlive: { ok: r.keepAlive.ok, retried: r.keepAlive.retried, failed: r.keepAlive.failures.length },
    fresh: { ok: r.fresh.ok, retried: r.fresh.retried, failed: r.fresh.failures.length },
  }))])),
  reasons,
});
writeBenchmarksSection(ROOT, '## Zero failed requests', [
  '## Zero failed requests',
  '',
  `Requests that fail while naught changes what serves them: 2 workers of \`test/fixtures/helper/activated.mjs\` (naught/worker's \`listen()\`), a keep-alive load and a new-connection load of 4 clients each, from 300 ms before the change to 300 ms after; ${RUNS} runs of each. A keep-alive request written on a socket the server closed is retried once, as HTTP/1.1 clients must (counted, not failed). The last row is what upgrading naught meant before \`naught upgrade\`: \`stop\` and \`start\` with a plain \`server.listen(port)\` (\`test/fixtures/hello-server.cjs\`). \`npm run bench:no-gap\`. ${info.cpus} × ${info.cpuModel}, Node ${info.node}.`,
  '',
  ...markdownTable(headers, rows),
  '',
  `Why the last row fails: ${reasons['stop + start, plain listen (before upgrade)']!.join('; ') || 'it did not, this time'}.`,
  '',
].join('\n'));
