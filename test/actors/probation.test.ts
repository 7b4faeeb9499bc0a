// `deploy --probation` on an in-memory bus: the watch starts when the deploy's new workers
// have replaced the old, fails the release on a crash (and rolls back under the deploy's
// request id), and ends without a rollback on an abort, a stop or another deploy.
import t from 'tap';
import { createBus, type Bus } from '../../src/bus/bus.js';
import type { MessageOf } from '../../src/bus/messages.js';
import { createProbationActor } from '../../src/actors/probation.js';
import { simulatedClock } from '../helpers/clock.js';

function watched(probationMs: number) {
  const bus: Bus = createBus('daemon');
  const sim = simulatedClock(1_000_000);
  const stop = createProbationActor({ bus, clock: sim.clock });
  const ended: MessageOf<'probation.ended'>[] = [];
  const rollbacks: MessageOf<'cmd.rollback'>[] = [];
  bus.on('probation.ended', (msg) => ended.push(msg));
  bus.on('cmd.rollback', (msg) => rollbacks.push(msg));
  bus.publish({ type: 'cmd.deploy', requestId: 'd1', workerCount: 0, env: null, cwd: null, timeoutMs: null, probationMs });
  return { bus, ended, rollbacks, stop, pass: sim.pass };
}

t.test('a crash during the probation fails the release and rolls back under the same request', async (t) => {
  const { bus, ended, rollbacks, stop, pass } = watched(60_000);
  t.teardown(stop);
  bus.publish({ type: 'worker.exited', workerId: 3, slot: 1, pid: 9, code: 1, signal: null });
  t.same(ended, [], 'no watch before the new workers settled');
  bus.publish({ type: 'deploy.settled', requestId: 'd1', running: 'new', generation: 4 });
  pass(14_200);
  bus.publish({ type: 'worker.exited', workerId: 4, slot: 1, pid: 10, code: 0, signal: null });
  t.same(ended, [], 'a clean exit is no failure');
  bus.publish({ type: 'worker.exited', workerId: 5, slot: 2, pid: 11, code: null, signal: 'SIGKILL' });
  t.same(ended.map(({ type: _type, ...msg }) => msg), [{ requestId: 'd1', generation: 4, outcome: 'failed', reason: 'worker 2 crashed 14.2 s after the deploy' }]);
  t.same(rollbacks.map(({ type: _type, ...msg }) => msg), [{ requestId: 'd1', to: null }]);
});

t.test('a deploy-abort, a stop or another deploy end it and keep the release', async (t) => {
  for (const [what, reason] of [
    [{ type: 'cmd.deploy-abort', requestId: 'a1' }, 'deploy-abort keeps the new release'],
    [{ type: 'cmd.stop', requestId: 's1', timeoutMs: null }, 'naught is stopping'],
    [{ type: 'cmd.deploy', requestId: 'd2', workerCount: 0, env: null, cwd: null, timeoutMs: null }, 'another deploy began'],
  ] as const) {
    const { bus, ended, rollbacks, stop } = watched(60_000);
    bus.publish({ type: 'deploy.settled', requestId: 'd1', running: 'new', generation: 4 });
    bus.publish(what);
    t.same(ended.map((msg) => [msg.outcome, msg.reason]), [['ended', reason]], what.type);
    t.same(rollbacks, []);
    stop();
  }
});

t.test('a deploy that settled on the old workers is not watched; one without --probation neither', async (t) => {
  const { bus, ended, stop } = watched(60_000);
  t.teardown(stop);
  bus.publish({ type: 'deploy.settled', requestId: 'd1', running: 'old', generation: 3 });
  bus.publish({ type: 'worker.offline', workerId: 1, slot: 0, pid: 7 });
  t.same(ended, []);
  const other = watched(0);
  t.teardown(other.stop);
  other.bus.publish({ type: 'deploy.settled', requestId: 'd1', running: 'new', generation: 4 });
  other.bus.publish({ type: 'worker.offline', workerId: 1, slot: 0, pid: 7 });
  t.same(other.ended, []);
});

t.test('the time runs out: passed, at the instant it does', async (t) => {
  const { bus, ended, rollbacks, stop, pass } = watched(30_000);
  t.teardown(stop);
  bus.publish({ type: 'deploy.settled', requestId: 'd1', running: 'new', generation: 4 });
  pass(29_999);
  t.same(ended, []);
  pass(1);
  t.same(ended.map((msg) => [msg.outcome, msg.generation]), [['passed', 4]]);
  t.same(rollbacks, []);
});
