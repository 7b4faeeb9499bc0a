// The master's actor on an in-memory bus with simulated time and workers without
// processes: a boot forks a worker per slot and is Ready when they are online, a deploy
// that outlives its timeout fails and its new workers go, and a stop ends in exit.
import t, { type Test } from 'tap';
import { createBus } from '../../src/bus/bus.js';
import type { Message, PoolEventName } from '../../src/bus/messages.js';
import { createMasterActor } from '../../src/actors/master.js';
import { simulatedClock } from '../helpers/clock.js';
import { FakeWorker } from '../helpers/fake-worker.js';
import { sample } from '../helpers/sample-messages.js';

function mastering(t: Test) {
  const bus = createBus('master');
  const sim = simulatedClock();
  const workers: FakeWorker[] = [];
  const calls: string[] = [];
  const events: string[] = [];
  bus.onAny(({ msg }: { msg: Message }) => {
    if (msg.type === 'pool.event' || msg.type === 'pool.reply') events.push(`${msg.event}${'requestId' in msg ? `:${msg.requestId}` : ''}`);
  });
  const master = createMasterActor({
    bus, clock: sim.clock,
    setup: (boot) => { calls.push(`setup ${boot.config.script}`); },
    configure: (change) => { calls.push(`configure ${JSON.stringify(change.env)}`); },
    restore: () => { calls.push('restore'); },
    fork: (slot) => { const worker = new FakeWorker(5000 + workers.length); workers.push(worker); calls.push(`fork ${slot}`); return worker.asWorker; },
    exit: (reason) => { calls.push(`exit ${reason}`); },
  });
  t.teardown(master.stop);
  return { bus, sim, workers, calls, events, master };
}

const seen = (events: string[], ...names: PoolEventName[]) => names.every((name) => events.some((event) => event.startsWith(name)));

t.test('boot, deploy and stop, carried out on workers', async (t) => {
  const { bus, workers, calls, events, master } = mastering(t);
  bus.publish({ ...sample('cmd.boot'), config: { ...sample('cmd.boot').config, workerCount: 2 } });
  t.same(calls, ['setup /srv/app.js', 'fork 0', 'fork 1']);
  for (const worker of workers) worker.says('online');
  t.ok(seen(events, 'Bootup', 'NewOnline', 'Ready'), events.join(' '));
  t.equal(master.pool().workers.filter((worker) => worker.state === 'online').length, 2);

  bus.publish({ type: 'cmd.deploy', requestId: 'd1', workerCount: 0, env: { A: '2' }, cwd: null, timeoutMs: null });
  t.same(calls.slice(3), ['configure {"A":"2"}', 'fork 0', 'fork 1']);
  workers[2]!.says('online');
  workers[3]!.says('online');
  t.same([workers[0]!.sent, workers[1]!.sent], [['shutdown'], ['shutdown']], 'the old workers are told to shut down once the new are online');
  workers[0]!.exits(0);
  workers[1]!.exits(0);
  t.same(events.filter((event) => event === 'Ready').length, 2, events.join(' '));

  bus.publish({ type: 'cmd.stop', requestId: 's1', timeoutMs: null });
  t.same([workers[2]!.sent, workers[3]!.sent], [['shutdown'], ['shutdown']]);
  workers[2]!.exits(0);
  t.notOk(calls.includes('exit stopped'), 'not before the last worker exits');
  workers[3]!.exits(0);
  t.equal(calls.at(-1), 'exit stopped');
});

t.test('a deploy whose new workers are not online by its timeout fails, on the clock, and restores the release', async (t) => {
  const { bus, sim, workers, calls, events } = mastering(t);
  bus.publish(sample('cmd.boot'));
  for (const worker of workers) worker.says('online');
  bus.publish({ type: 'cmd.deploy', requestId: 'd2', workerCount: 0, env: null, cwd: '/srv/next', timeoutMs: 5_000 });
  sim.pass(4_999);
  t.notOk(events.includes('Timeout'), 'not yet');
  sim.pass(1);
  t.ok(events.includes('Timeout'), events.join(' '));
  t.same([workers[2]!.killedWith, workers[3]!.killedWith], ['SIGKILL', 'SIGKILL'], 'the new workers are destroyed');
  workers[2]!.exits(null, 'SIGKILL');
  workers[3]!.exits(null, 'SIGKILL');
  t.ok(events.includes('DeployFailed'), events.join(' '));
  t.equal(calls.at(-1), 'restore');
});
