// The master's census on an in-memory bus with simulated time, the pool given as state and
// the workers as real processes whose /proc it samples: each worker's pid, age, restarts
// and last exit from the bus, its lag and heap from its latest report, asked afresh.
import t from 'tap';
import { spawn } from 'node:child_process';
import { createBus } from '../../src/bus/bus.js';
import type { MessageOf } from '../../src/bus/messages.js';
import { createCensusActor } from '../../src/actors/census.js';
import type { PoolState, PoolWorker } from '../../src/pool/pool.js';
import { simulatedClock } from '../helpers/clock.js';

const worker = (id: number, slot: number, extra: Partial<PoolWorker> = {}): PoolWorker => ({
  id, slot, state: 'online', spawnedBy: 'deploy', generation: 1, dyingReason: null, retiring: null, ...extra,
});

t.test('what each worker is, as the bus told it, with fresh metrics and /proc figures', async (t) => {
  const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.teardown(() => { sleeper.kill('SIGKILL'); });
  const bus = createBus('master');
  const sim = simulatedClock(Date.parse('2026-12-01T06:00:00.000Z'));
  let state: PoolState = {
    workers: [worker(1, 0), worker(2, 1)], waitingFor: null, workerCount: 2, generation: 1, nextId: 3,
    deploy: null, slots: {}, stopDeadline: false,
  };
  const stop = createCensusActor({ bus, pool: () => state, clock: sim.clock });
  t.teardown(stop);
  const censuses: MessageOf<'master.census'>[] = [];
  const asked: MessageOf<'worker.metrics-asked'>[] = [];
  bus.on('master.census', (msg) => censuses.push(msg));
  bus.on('worker.metrics-asked', (msg) => asked.push(msg));

  bus.publish({ type: 'worker.spawned', workerId: 1, slot: 0, pid: sleeper.pid! });
  bus.publish({ type: 'worker.spawned', workerId: 2, slot: 1, pid: 999_999_999 });
  sim.pass(61_000);
  bus.publish({ type: 'worker.exited', workerId: 2, slot: 1, pid: 999_999_999, code: null, signal: 'SIGKILL' });
  state = { ...state, workers: [worker(1, 0), worker(3, 1, { spawnedBy: 'replacement', state: 'booting' })] };
  bus.publish({ type: 'worker.spawned', workerId: 3, slot: 1, pid: sleeper.pid! });
  bus.publish({ type: 'worker.metrics', workerId: 1, slot: 0, pid: sleeper.pid!, lagMs: { p50: 1, p99: 2, max: 3 }, heapUsedBytes: 4_000_000 });

  bus.publish({ type: 'cmd.inspect', requestId: 'i1' });
  t.same(asked, [{ type: 'worker.metrics-asked', requestId: 'i1', workerIds: [1] }], 'only a worker that reports is asked');
  bus.publish({ type: 'worker.metrics', workerId: 1, slot: 0, pid: sleeper.pid!, lagMs: { p50: 5, p99: 6, max: 7 }, heapUsedBytes: 8_000_000 });
  await new Promise<void>((resolve) => { const off = bus.on('master.census', () => { off(); resolve(); }); if (censuses.length > 0) resolve(); });
  const [census] = censuses;
  t.equal(census!.requestId, 'i1');
  t.equal(census!.master.pid, process.pid);
  const [first, second] = census!.workers;
  t.match(first, { slot: 0, pid: sleeper.pid, state: 'online', uptimeSeconds: 61, restarts: 0, lastExit: null, lagMs: { p50: 5, p99: 6, max: 7 }, heapUsedBytes: 8_000_000 });
  t.ok(first!.rssBytes! > 1_000_000, `its resident memory from /proc: ${first!.rssBytes}`);
  t.match(second, { slot: 1, state: 'booting', uptimeSeconds: 0, restarts: 1, lastExit: { code: null, signal: 'SIGKILL', at: '2026-12-01T06:01:01.000Z' }, lagMs: null });
  t.same(census!.pool, { counts: { booting: 1, online: 1, dying: 0, new_online: 0 }, waitingFor: null, workerCount: 2, deploy: null });
});

t.test('a worker that does not answer in time keeps its last figures; the census waits 250 ms at most', async (t) => {
  const bus = createBus('master');
  const sim = simulatedClock(0);
  const state: PoolState = { workers: [worker(1, 0)], waitingFor: null, workerCount: 1, generation: 1, nextId: 2, deploy: null, slots: {}, stopDeadline: false };
  const stop = createCensusActor({ bus, pool: () => state, clock: sim.clock });
  t.teardown(stop);
  const censuses: MessageOf<'master.census'>[] = [];
  bus.on('master.census', (msg) => censuses.push(msg));
  bus.publish({ type: 'worker.spawned', workerId: 1, slot: 0, pid: process.pid });
  bus.publish({ type: 'worker.metrics', workerId: 1, slot: 0, pid: process.pid, lagMs: { p50: 1, p99: 2, max: 3 }, heapUsedBytes: 4 });
  bus.publish({ type: 'cmd.inspect', requestId: 'i2' });
  sim.pass(250);
  await new Promise<void>((resolve) => { const off = bus.on('master.census', () => { off(); resolve(); }); if (censuses.length > 0) resolve(); });
  t.same(censuses[0]!.workers[0]!.lagMs, { p50: 1, p99: 2, max: 3 });
});
