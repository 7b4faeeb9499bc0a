// The child supervisor with real child processes on a bus, its back-off on simulated time:
// restarts at once and then after growing delays, final exits and a declined restart end
// it, a hung child is killed and restarted, and a stop with a grace kills what outlives it.
import t, { type Test } from 'tap';
import { createBus, type Bus } from '../../src/bus/bus.js';
import { spawnWithPipe } from '../../src/bus/fd3.js';
import type { ChildProcess } from 'node:child_process';
import { superviseChild, type ChildEnd, type ChildExit, type ChildSpec, type ChildSupervisor } from '../../src/supervision/child-supervisor.js';
import { compiledFixture } from '../helpers/paths.js';
import { simulatedClock } from '../helpers/clock.js';

const FAST_HEARTBEAT = { intervalMs: 100, timeoutMs: 400, idleIntervalMs: 1_000 };

function supervised(t: Test, mode: string, spec: Partial<ChildSpec> = {}, mayRestart?: (exit: ChildExit) => boolean) {
  const bus: Bus = createBus('parent');
  const sim = simulatedClock(1_000_000);
  const children: ChildProcess[] = [];
  const notices: string[] = [];
  const ends: [ChildExit | null, ChildEnd][] = [];
  let noticeWaiter: (() => void) | null = null;
  bus.on('notice', ({ code, message }) => { notices.push(`${code}: ${message}`); noticeWaiter?.(); });
  let onEnd: () => void = () => {};
  const ended = new Promise<void>((resolve) => { onEnd = resolve; });
  const supervisor: ChildSupervisor = superviseChild({
    heartbeat: FAST_HEARTBEAT,
    finalExitCodes: [78],
    notices: {
      hung: { code: 'PLUGIN_FAILED', text: (pid, ms) => `${pid} hung ${ms}` },
      restarting: { code: 'PLUGIN_DIED', text: ({ pid, how }, delayMs) => `${pid} ${how}, again in ${delayMs}` },
    },
    ...spec,
  }, {
    bus,
    spawn() {
      const started = spawnWithPipe([compiledFixture('supervised-child.js'), mode], {});
      children.push(started.child);
      return started;
    },
    link: { name: 'parent', wants: ['*'] },
    mayRestart,
    ended(exit, why) { ends.push([exit, why]); onEnd(); },
    clock: sim.clock,
  });
  t.teardown(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await supervisor.stop();
  });
  /** Resolves when naught.log would have `count` notices. */
  const noticesReach = (count: number) => new Promise<void>((resolve) => {
    noticeWaiter = () => { if (notices.length >= count) resolve(); };
    noticeWaiter();
  });
  return { bus, sim, supervisor, children, notices, noticesReach, ends, ended };
}

t.test('a child that dies is started again at once, then after 100 ms, 200 ms, on the supervisor\'s clock', async (t) => {
  const { sim, supervisor, children, notices, noticesReach, ends, ended } = supervised(t, 'exit:3');
  await noticesReach(1);
  t.same(notices, [`PLUGIN_DIED: ${children[0]!.pid} exit code 3, again in 0`]);
  t.equal(supervisor.current(), null, 'no child between two');
  t.equal(supervisor.starts, 1);
  sim.pass(0);
  t.equal(supervisor.starts, 2);
  await noticesReach(2);
  t.equal(notices[1], `PLUGIN_DIED: ${children[1]!.pid} exit code 3, again in 100`);
  sim.pass(99);
  t.equal(supervisor.starts, 2, 'not before its delay');
  sim.pass(1);
  t.equal(supervisor.starts, 3);
  await noticesReach(3);
  t.equal(notices[2], `PLUGIN_DIED: ${children[2]!.pid} exit code 3, again in 200`);
  await supervisor.stop();
  await ended;
  t.same(ends, [[null, 'stopped']], 'a stop between two children ends it at once');
  sim.pass(60_000);
  t.equal(supervisor.starts, 3, 'and nothing is started after it');
});

t.test('a final exit code ends it; so does a restart its owner declines', async (t) => {
  const final = supervised(t, 'exit:78');
  await final.ended;
  t.same(final.ends.map(([exit, why]) => [exit?.code, exit?.how, why]), [[78, 'exit code 78', 'final']]);
  t.same(final.notices, [], 'no restart said');

  const asked: ChildExit[] = [];
  const declined = supervised(t, 'exit:5', {}, (exit) => { asked.push(exit); return false; });
  await declined.ended;
  t.same(asked.map((exit) => exit.code), [5]);
  t.same(declined.ends.map(([exit, why]) => [exit?.pid, why]), [[declined.children[0]!.pid, 'declined']]);
  t.same(declined.notices, []);
});

t.test('a child whose loop hangs is killed when a ping goes unanswered, said so, and started again', async (t) => {
  const { sim, supervisor, children, notices, noticesReach } = supervised(t, 'hang');
  await noticesReach(2);
  const pid = children[0]!.pid;
  t.same(notices, [`PLUGIN_FAILED: ${pid} hung 400`, `PLUGIN_DIED: ${pid} signal SIGKILL, again in 0`]);
  await supervisor.stop();
  sim.pass(0);
  t.equal(supervisor.starts, 1, 'stopped before its restart: none');
});

t.test('a stop closes the link: a child that exits is waited for, one that does not is killed after the grace', async (t) => {
  const polite = supervised(t, '');
  await polite.supervisor.current()!.link.ready;
  await polite.supervisor.stop({ closeLinkAndKillAfterMs: 10_000 });
  t.same(polite.ends.map(([exit, why]) => [exit?.code, exit?.signal, why]), [[0, null, 'stopped']]);

  const stubborn = supervised(t, 'ignore-close');
  await stubborn.supervisor.current()!.link.ready;
  const stopped = stubborn.supervisor.stop({ closeLinkAndKillAfterMs: 2_000 });
  await stubborn.supervisor.current()!.link.closed;
  t.equal(stubborn.children[0]!.exitCode, null, 'alive after its link closed');
  stubborn.sim.pass(2_000);
  await stopped;
  t.same(stubborn.ends.map(([exit, why]) => [exit?.signal, why]), [['SIGKILL', 'stopped']]);
  t.same(stubborn.notices, []);
});

t.test('a child ready for a minute before it died forgets the earlier failures; one ready for less does not', async (t) => {
  const { bus, sim, supervisor, notices, noticesReach } = supervised(t, 'exit-on-status');
  const kill = async (count: number) => {
    await supervisor.current()!.link.ready;
    bus.publish({ type: 'cmd.status', requestId: `s${count}` });
    await noticesReach(count);
    return notices[count - 1]!.replace(/^.*again in /, '');
  };
  t.equal(await kill(1), '0', 'the first death: at once');
  sim.pass(0);
  t.equal(await kill(2), '100', 'never ready: the failures add up');
  sim.pass(100);
  supervisor.markReady();
  sim.pass(60_000);
  t.equal(await kill(3), '0', 'ready for 60 s: forgotten');
  sim.pass(0);
  supervisor.markReady();
  sim.pass(59_999);
  t.equal(await kill(4), '100', 'ready for 59.999 s: counted');
});
