// One worker's proxy on an in-memory bus with simulated time and a worker without a
// process: its protocol becomes bus facts, bus commands become 'shutdown', disconnect and
// SIGKILL, a backed-off restart forks only after its delay, and a worker that beat and
// then stopped is reported hung.
import t from 'tap';
import { createBus } from '../../src/bus/bus.js';
import type { Message } from '../../src/bus/messages.js';
import { createWorkerProxyActor } from '../../src/actors/worker-proxy.js';
import { simulatedClock } from '../helpers/clock.js';
import { FakeWorker } from '../helpers/fake-worker.js';

function proxied(delayMs: number, heartbeatTimeoutMs: number | null = null) {
  const bus = createBus('master');
  const sim = simulatedClock();
  const facts: Message[] = [];
  bus.onAny(({ msg }) => { if (msg.type.startsWith('worker.') && !['worker.shutdown', 'worker.kill', 'worker.metrics-asked'].includes(msg.type)) facts.push(msg); });
  const forked: FakeWorker[] = [];
  createWorkerProxyActor({
    bus, workerId: 7, slot: 2, delayMs, heartbeatTimeoutMs, clock: sim.clock,
    fork: (slot) => { const worker = new FakeWorker(4000 + slot); forked.push(worker); return worker.asWorker; },
  });
  return { bus, sim, facts, forked };
}

t.test('online, offline, metrics and exit become facts; shutdown and kill reach the worker', async (t) => {
  const { bus, facts, forked } = proxied(0);
  const [worker] = forked;
  t.same(facts, [{ type: 'worker.spawned', workerId: 7, slot: 2, pid: 4002 }]);
  worker!.says('online');
  worker!.says({ naught: 'metrics', lagMs: { p50: 1, p99: 2, max: 3 }, heapUsedBytes: 10 });
  worker!.says({ naught: 'metrics', lagMs: { p50: -1, p99: 2, max: 3 }, heapUsedBytes: 10 });
  worker!.says('something of its own');
  worker!.says('offline');
  t.same(facts.slice(1).map((msg) => msg.type), ['worker.online', 'worker.metrics', 'worker.offline'], 'a malformed report and the app\'s own messages are ignored');
  bus.publish({ type: 'worker.metrics-asked', requestId: 'i', workerIds: [7] });
  t.match(worker!.sent, [{ naught: 'metrics?' }]);
  bus.publish({ type: 'worker.shutdown', workerId: 8, notify: true });
  t.equal(worker!.connected, true, 'another worker\'s command');
  bus.publish({ type: 'worker.shutdown', workerId: 7, notify: true });
  t.same([worker!.sent.at(-1), worker!.connected], ['shutdown', false]);
  bus.publish({ type: 'worker.kill', workerId: 7 });
  t.equal(worker!.killedWith, 'SIGKILL');
  worker!.exits(null, 'SIGKILL');
  worker!.exits(1);
  t.same(facts.filter((msg) => msg.type === 'worker.exited'), [{ type: 'worker.exited', workerId: 7, slot: 2, pid: 4002, code: null, signal: 'SIGKILL' }], 'one exit');
});

t.test('a backed-off restart forks after its delay; told to go before, it is gone at once', async (t) => {
  const waiting = proxied(400);
  waiting.sim.pass(399);
  t.equal(waiting.forked.length, 0);
  waiting.sim.pass(1);
  t.equal(waiting.forked.length, 1);

  const cancelled = proxied(400);
  cancelled.bus.publish({ type: 'worker.shutdown', workerId: 7, notify: true });
  t.same(cancelled.facts, [{ type: 'worker.exited', workerId: 7, slot: 2, pid: 0, code: null, signal: null }]);
  cancelled.sim.pass(1_000);
  t.equal(cancelled.forked.length, 0, 'never forked');
});

t.test('with --worker-timeout, a worker that beat and then did not for the timeout is reported hung, once', async (t) => {
  const { sim, facts, forked } = proxied(0, 3_000);
  const hung = () => facts.filter((msg) => msg.type === 'worker.hung');
  sim.pass(10_000);
  t.same(hung(), [], 'a worker that never beat is never watched');
  forked[0]!.says({ naught: 'heartbeat' });
  sim.pass(2_000);
  forked[0]!.says({ naught: 'heartbeat' });
  sim.pass(2_999);
  t.same(hung(), []);
  sim.pass(1_000);
  t.same(hung(), [{ type: 'worker.hung', workerId: 7, slot: 2, pid: 4002, silentMs: 3_000 }], 'found at the next check');
  sim.pass(10_000);
  t.equal(hung().length, 1);
});
