// The watchdogs of `start --worker-timeout` and `start --max-worker-memory`: a hung or
// bloated worker is replaced with its replacement online first, under load.
import t from 'tap';
import { fixture } from '../helpers/paths.js';
import { freePort, isAlive, masterOf, descendants, readText, Sandbox, waitFor } from '../helpers/naught.js';
import { startLoad } from '../helpers/load.js';

const json = async (url: string) => (await fetch(url)).json() as Promise<{ worker: string; pid: number }>;

t.test('--worker-timeout: a worker whose loop is blocked is replaced and killed; only the requests it held fail', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', '--worker-timeout', '2', '--trace', 'trace.bin', fixture('helper/blocks.mjs')], { PORT: String(port) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const before = descendants(masterOf(box)).sort();
  const concurrency = 4;
  const load = startLoad({ port, keepAlive: false, concurrency, maxRequests: 1e9, maxMs: 60_000 });
  // Never answered: this worker's loop stays blocked until it is killed.
  void fetch(`http://127.0.0.1:${port}/block/600000`).catch(() => {});
  const line = await waitFor('the watchdog', () => /^Worker (\d) \(pid (\d+)\) stopped answering for 2 s; replacing it\.$/m.exec(readText(box.path('naught.log'))), 20_000);
  const hung = Number(line[2]);
  t.ok(before.includes(hung), 'one of the workers');
  await waitFor('the hung worker killed', () => !isAlive(hung) || null);
  await waitFor('two workers serving', async () => (await box.naught(['status'])).stdout === 'workers online: 2\n');
  const served = await Promise.all(Array.from({ length: 6 }, () => json(`http://127.0.0.1:${port}/`)));
  t.notOk(served.some((reply) => reply.pid === hung), 'the replacement serves instead');
  const result = await load.stop();
  t.ok(result.ok > 50, `the load went on (${result.ok} requests)`);
  t.ok(result.failures.length <= concurrency, `only requests held by the hung worker failed (${result.failures.length}: ${result.failures.map((f) => f.reason).join(', ')})`);
  const trace = await box.naught(['trace', '--type', 'worker.hung,worker.replacing', 'trace.bin']);
  t.match(trace.stdout, new RegExp(`worker\\.hung {2}workerId=\\d+ slot=${line[1]} pid=${hung} silentMs=\\d+\\n.*worker\\.replacing {2}workerId=\\d+ slot=${line[1]} reason=hung`));
  t.match(readText(box.path('naught.log')), /DestroyOld\. booting: 0, online: 2, dying: 1, new_online: 0\n/, 'killed once its replacement was online');
});

t.test('--worker-timeout never touches a server without naught/worker (it sends no heartbeat)', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--worker-count', '2', '--worker-timeout', '1', fixture('helper/half-helped.mjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const report = JSON.parse((await box.naught(['status', '--json'])).stdout) as { workers: { slot: number; pid: number }[] };
  const plain = report.workers.find((w) => w.slot === 0)!.pid;
  // Slot 1 (with the helper) hangs and is replaced: slot 0, as old, had as long to be taken for hung.
  await waitFor('the helped worker replaced', () => /^Worker 1 \(pid \d+\) stopped answering for 1 s; replacing it\.$/m.test(readText(box.path('naught.log'))));
  t.ok(descendants(masterOf(box)).includes(plain), 'the worker without the helper serves on');
  t.notMatch(readText(box.path('naught.log')), /^Worker 0 /m);
});

t.test('--max-worker-memory: a worker above it is replaced without downtime: its replacement first, then it drains', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const env = { PORT: String(port), NAUGHT_MEMORY_SAMPLE_MS: '250' };
  const start = await box.naught(['start', '--worker-count', '2', '--max-worker-memory', '150M', fixture('helper/blocks.mjs')], env);
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const load = startLoad({ port, keepAlive: true, concurrency: 8, maxRequests: 1e9, maxMs: 60_000 });
  const grown = await json(`http://127.0.0.1:${port}/grow/200`);
  const line = await waitFor('the memory watch', () => new RegExp(`^Worker ${grown.worker} \\(pid ${grown.pid}\\) holds \\d+ MiB, over --max-worker-memory 150 MiB; replacing it, without downtime\\.$`, 'm')
    .exec(readText(box.path('naught.log'))), 20_000);
  t.ok(line);
  await waitFor('the bloated worker gone', () => !isAlive(grown.pid) || null);
  // Its exit reaches naught.log a moment after the process is gone.
  await waitFor('its OldExit in naught.log', () => /OldExit\. /.test(readText(box.path('naught.log')).split(line[0])[1] ?? ''));
  const log = readText(box.path('naught.log'));
  const tail = log.slice(log.indexOf(line[0]));
  t.match(tail, /SpawnNew\. booting: 1, online: 2, dying: 0, new_online: 0\nWorkerOnline\. booting: 0, online: 3, dying: 0, new_online: 0\nShutdownOld\. booting: 0, online: 2, dying: 1, new_online: 0\n/, 'the replacement online before the old one is asked to go');
  t.match(tail, /OldExit\. booting: 0, online: 2, dying: 0, new_online: 0\n/);
  const result = await load.stop();
  t.same(result.failures, [], `0 failed requests of ${result.ok}`);
  t.equal(result.retried, 0, 'and no retries');
});
