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

t.test('naught/worker reports event-loop lag and heap when a report asks, and only then; a blocked loop shows', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--trace', 'trace.bin', fixture('helper/blocks.mjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const reports = async () => (await box.naught(['trace', '--type', 'worker.metrics', 'trace.bin'])).stdout.trim().split('\n').filter(Boolean);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal((await reports()).length, 1, 'one report at online(), and none while nobody asks');
  await fetch(`http://127.0.0.1:${port}/block/1000`);
  const blocked = (await report(box, t)).workers[0]!;
  // The delay recorded is the block less the monitor's 10 ms resolution, give or take.
  t.ok(blocked.lagMs!.max >= 500, `the 1 s block shows in the next report (max ${blocked.lagMs!.max} ms)`);
  t.ok(blocked.heapUsedBytes! > 1024 * 1024, 'the heap in use');
  const next = (await report(box, t)).workers[0]!;
  t.ok(next.lagMs!.max < 500, `a report covers the time since the one before (max ${next.lagMs!.max} ms)`);
  const asked = await box.naught(['trace', '--type', 'worker.metrics-asked', 'trace.bin']);
  t.equal(asked.stdout.trim().split('\n').length, 2, 'one ask per report');
  t.equal((await reports()).length, 3, 'one answer per ask');
  t.match((await reports())[1], /master → worker\.metrics {2}workerId=\d+ slot=0 pid=\d+ lagMs\.p50=[\d.]+ lagMs\.p99=[\d.]+ lagMs\.max=[\d.]+ heapUsedBytes=\d+/, 'the trace has the reports');
});

t.test('a worker blocked when asked: the report comes without waiting for it, and its late answer counts the wait as delay', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', fixture('helper/blocks.mjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('the report at online()', async () => (await report(box, t)).workers[0]?.lagMs ?? null);
  const block = fetch(`http://127.0.0.1:${port}/block/2000`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const during = await box.naught(['status', '--json']);
  t.equal(during.code, 0);
  t.ok(JSON.parse(during.stdout).workers[0].lagMs.max < 500, 'during the block: the previous figures');
  await block;
  const after = (await report(box, t)).workers[0]!;
  t.ok(after.lagMs!.max >= 1000, `after it: the block (max ${after.lagMs!.max} ms)`);
});

t.test('a server without naught/worker is never asked for metrics: its lag is null', async (t) => {
  const box = new Sandbox(t);
  t.equal((await box.naught(['start', '--trace', 'trace.bin', fixture('hello-server.cjs')], { PORT: String(await freePort()) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.same((await report(box, t)).workers.map((worker) => worker.lagMs), [null]);
  t.equal((await box.naught(['trace', '--type', 'worker.metrics-asked', 'trace.bin'])).stdout, '', 'no ask');
});

t.test('NAUGHT_METRICS_INTERVAL_MS: reports as they go, without asking, for the trace', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--trace', 'trace.bin', fixture('helper/blocks.mjs')], { PORT: String(port), NAUGHT_METRICS_INTERVAL_MS: '200' })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('reports nobody asked for', async () => (await box.naught(['trace', '--type', 'worker.metrics', 'trace.bin'])).stdout.trim().split('\n').length >= 4);
  t.equal((await box.naught(['trace', '--type', 'worker.metrics-asked', 'trace.bin'])).stdout, '');
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
