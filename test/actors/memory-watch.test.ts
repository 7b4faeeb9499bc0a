// The memory ceiling on an in-memory bus, with real processes to read /proc of: a worker
// above --max-worker-memory for two samples in a row is reported once; one under it never;
// without the flag nothing is sampled.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createBus } from '../../src/bus/bus.js';
import type { MessageOf } from '../../src/bus/messages.js';
import { createMemoryWatchActor } from '../../src/actors/memory-watch.js';
import { sampleMessages } from '../helpers/sample-messages.js';
import { waitFor } from '../helpers/naught.js';

const MiB = 1024 * 1024;
const boot = sampleMessages.find((msg): msg is MessageOf<'cmd.boot'> => msg.type === 'cmd.boot')!;

/** A process holding about `mib` MiB, touched so that it counts in its RSS; ready once it says so. */
async function holding(t: Test, mib: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `globalThis.kept = Buffer.alloc(${mib} * 1024 * 1024, 1); console.log('ready'); setInterval(() => {}, 1e9);`], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  return child;
}

t.test('a worker over the ceiling for two samples is reported once; one under it never', async (t) => {
  const bus = createBus('master');
  const reports: MessageOf<'worker.over-memory'>[] = [];
  bus.on('worker.over-memory', (msg) => reports.push(msg));
  const stop = createMemoryWatchActor({ bus, everyMs: 20 });
  t.teardown(stop);
  const big = await holding(t, 160);
  const small = await holding(t, 1);
  bus.publish({ ...boot, config: { ...boot.config, maxWorkerMemoryBytes: 120 * MiB } });
  bus.publish({ type: 'worker.spawned', workerId: 1, slot: 0, pid: big.pid! });
  bus.publish({ type: 'worker.spawned', workerId: 2, slot: 1, pid: small.pid! });
  await waitFor('the big one reported', () => reports.length > 0);
  // Ten more samples' time (20 ms each): still one report, and none for the small one.
  const since = Date.now();
  await waitFor('ten more samples\' time', () => Date.now() - since >= 200);
  t.same(reports.map(({ workerId, slot, pid, limitBytes }) => ({ workerId, slot, pid, limitBytes })), [{ workerId: 1, slot: 0, pid: big.pid!, limitBytes: 120 * MiB }]);
  t.ok(reports[0]!.rssBytes > 120 * MiB, `its RSS, ${Math.round(reports[0]!.rssBytes / MiB)} MiB, is over the ceiling`);
});

t.test('without --max-worker-memory nothing is sampled', async (t) => {
  const bus = createBus('master');
  const reports: unknown[] = [];
  bus.on('worker.over-memory', (msg) => reports.push(msg));
  const stop = createMemoryWatchActor({ bus, everyMs: 20 });
  t.teardown(stop);
  const big = await holding(t, 160);
  bus.publish({ ...boot, config: { ...boot.config, maxWorkerMemoryBytes: null } });
  bus.publish({ type: 'worker.spawned', workerId: 1, slot: 0, pid: big.pid! });
  const since = Date.now();
  await waitFor('ten samples\' time', () => Date.now() - since >= 200);
  t.same(reports, []);
});
