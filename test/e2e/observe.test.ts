// Seeing inside: `status --json` against its schema and against what the test did,
// `status --workers` / `ps` as a table (coloured on a terminal only), and the lag that
// naught/worker reports.
import t, { type Test as TapTest } from 'tap';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { fixture, naughtBin, repoRoot } from '../helpers/paths.js';
import { descendants, freePort, masterOf, Sandbox, waitFor } from '../helpers/naught.js';
import type { StatusReport } from '../../src/bus/messages.js';

const ajv = new Ajv2020({ allErrors: true, strict: true });
(addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(`${repoRoot}/docs/status.schema.json`, 'utf8')) as object);
const schemaErrors = (document: unknown) => (validate(document) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));

async function report(box: Sandbox, t: TapTest): Promise<StatusReport> {
  const run = await box.naught(['status', '--json']);
  t.equal(run.code, 0, 'status --json exits 0');
  t.equal(run.stderr, '');
  const document = JSON.parse(run.stdout) as StatusReport;
  t.same(schemaErrors(document), [], 'the document matches docs/status.schema.json');
  return document;
}

t.test('status --json: one document that matches the schema and what happened', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.same(await box.naught(['status', '--json']), { code: 1, stdout: '{"running": false}\n', stderr: '' }, 'no daemon');
  t.same(schemaErrors({ running: false }), []);
  const start = await box.naught(['start', '--worker-count', '2', fixture('says-on-request.cjs')], { PORT: String(port) });
  t.equal(start.code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  for (let i = 1; i <= 5; i++) await fetch(`http://127.0.0.1:${port}/stdout/line${i}`);

  const first = await report(box, t);
  const daemon = box.daemonPid()!;
  const master = masterOf(box);
  t.match(first.daemon, { pid: daemon, ipcFile: box.path('naught.ipc'), pidFile: box.path('naught.pid'), paths: { stdout: box.path('stdout.log') } });
  t.equal(first.daemon.version, JSON.parse(fs.readFileSync(`${repoRoot}/package.json`, 'utf8')).version);
  t.match(first.master, { pid: master, restarts: 0 });
  t.ok(first.master!.rssBytes! > 10 * 2 ** 20, 'the master has an RSS');
  t.same(first.pool, { counts: { booting: 0, online: 2, dying: 0, new_online: 0 }, waitingFor: null, workerCount: 2, deploy: null });
  t.same(first.workers.map((w) => w.pid).sort(), descendants(master).sort(), 'one entry per worker process');
  t.same(first.workers.map((w) => [w.slot, w.state, w.generation, w.restarts, w.lastExit, w.lagMs]), [[0, 'online', 1, 0, null, null], [1, 'online', 1, 0, null, null]]);
  t.ok(first.workers.every((w) => w.rssBytes! > 10 * 2 ** 20 && w.cpuPercent !== null && w.cpuPercent >= 0), 'sampled RSS and CPU');
  const stdout = first.logs.find((log) => log.name === 'stdout')!;
  t.same(stdout, { name: 'stdout', path: box.path('stdout.log'), bytesWritten: 30, linesWritten: 5, linesDropped: 0, archives: 0 });
  t.same(first.logs.map((log) => log.name), ['naught.log', 'stdout', 'stderr']);

  const [killed] = first.workers;
  process.kill(killed!.pid, 'SIGKILL');
  const after = await waitFor('the replacement', async () => {
    const next = await report(box, t);
    return next.workers.length === 2 && next.workers.every((w) => w.state === 'online') && next.workers[0]!.pid !== killed!.pid ? next : null;
  });
  t.match(after.workers[0], { slot: 0, restarts: 1, generation: 1, lastExit: { code: null, signal: 'SIGKILL' } });
  t.ok(Date.parse(after.workers[0]!.lastExit!.at) <= Date.now());
  t.match(after.workers[1], { slot: 1, restarts: 0, lastExit: null });
});

t.test('a deploy in progress: its phase, start, target and who asked', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', fixture('boots-slowly.cjs')], { PORT: String(port), BOOT_MS: '0' })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const deploy = box.spawn(['deploy', '--worker-count', '2'], { PORT: String(port), BOOT_MS: '60000' });
  const during = await waitFor('the deploy under way', async () => {
    const next = await report(box, t);
    return next.pool?.deploy ? next : null;
  });
  t.match(during.pool, { waitingFor: 'new', workerCount: 2, deploy: { phase: 'new', targetWorkerCount: 2, requestedBy: `cli:${deploy.pid}` } });
  t.ok(Math.abs(Date.parse(during.pool!.deploy!.startedAt) - Date.now()) < 60_000);
  t.same(during.workers.map((w) => [w.slot, w.state, w.generation]), [[0, 'online', 1], [0, 'booting', 2], [1, 'booting', 2]]);
  t.equal((await box.naught(['deploy-abort'])).code, 0);
  await deploy.exited;
});

t.test('naught/worker reports event-loop lag and heap; a blocked loop shows', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const env = { PORT: String(port), NAUGHT_METRICS_INTERVAL_MS: '200' };
  t.equal((await box.naught(['start', '--trace', 'trace.bin', fixture('helper/blocks.mjs')], env)).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('a first lag report', async () => (await report(box, t)).workers[0]?.lagMs ?? null);
  await fetch(`http://127.0.0.1:${port}/block/1000`);
  // Each report covers the 200 ms before it: the trace keeps them all.
  let trace = { stdout: '' };
  const maxima = () => [...trace.stdout.matchAll(/lagMs\.max=([\d.]+)/g)].map((m) => Number(m[1]));
  // The delay recorded is the block less the monitor's 10 ms resolution, give or take.
  await waitFor('a report that saw the 1 s block', async () => {
    trace = await box.naught(['trace', '--type', 'worker.metrics', 'trace.bin']);
    return maxima().some((max) => max >= 500);
  });
  const worker = (await report(box, t)).workers[0]!;
  t.ok(worker.heapUsedBytes! > 1024 * 1024, 'the heap in use');
  t.match(worker.lagMs, { p50: Number, p99: Number, max: Number }, 'the latest lag');
  t.match(trace.stdout, /master → worker\.metrics {2}workerId=\d+ slot=0 pid=\d+ lagMs\.p50=[\d.]+ lagMs\.p99=[\d.]+ lagMs\.max=[\d.]+ heapUsedBytes=\d+/, 'the trace has the reports');
});

/** `naught args…` on a pseudo-terminal (util-linux's script): what a terminal shows. */
function onTerminal(box: Sandbox, args: string[], env: Record<string, string> = {}): Promise<string> {
  const quote = (arg: string) => `'${arg.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, naughtBin, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    const base = { ...process.env };
    delete base.NO_COLOR; // the test runner's own
    execFile('script', ['-qec', command, '/dev/null'], { cwd: box.dir, env: { ...base, ...env } }, (_error, stdout) => resolve(stdout.replace(/\r\n/g, '\n')));
  });
}

t.test('status --workers and ps: a table, coloured on a terminal unless NO_COLOR', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--worker-count', '2', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const pids = (await report(box, t)).workers.map((w) => w.pid);
  const table = await box.naught(['status', '--workers']);
  t.equal(table.code, 0);
  t.equal(table.stderr, '');
  const rows = table.stdout.split('\n');
  t.match(rows[0], /^slot {2}pid +state {3}uptime {2}restarts {2}memory +cpu +lag p99$/);
  for (const [slot, pid] of pids.entries()) {
    t.match(rows[slot + 1], new RegExp(`^${slot} {5}${pid} +online {2}\\d+s +0 +\\d+\\.\\d MiB {2}\\d+\\.\\d % {2}-$`), `slot ${slot}`);
  }
  t.equal(rows.length, 4, 'one row per worker');
  t.notMatch(table.stdout, '\x1b[', 'no colour without a terminal');
  const ps = await box.naught(['ps']);
  t.equal(ps.stdout.split('\n')[0], rows[0], 'ps is the same table');

  const coloured = await onTerminal(box, ['ps']);
  t.match(coloured, '\x1b[1mslot  pid', 'bold headers on a terminal');
  t.match(coloured, '\x1b[32monline\x1b[0m', 'the state in colour');
  t.notMatch(await onTerminal(box, ['ps'], { NO_COLOR: '1' }), '\x1b[', 'NO_COLOR turns colour off');
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' }, "plain status stays naught 1.6's");
  t.equal((await box.naught(['stop'])).code, 0);
  t.same(await box.naught(['ps']), { code: 1, stdout: '', stderr: 'server not running\n' });
});
