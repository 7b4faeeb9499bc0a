// `naught upgrade`'s protocol from the old daemon's side, on an in-memory bus, with a
// stand-in new daemon: refusals with their reasons, a hand-over told as one deploy, and a
// new daemon that dies first leaving the old one as it was.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import { createBus } from '../../src/bus/bus.js';
import type { MessageOf, TakeOverState } from '../../src/bus/messages.js';
import { createUpgradeActor } from '../../src/actors/upgrade.js';
import { compiledFixture } from '../helpers/paths.js';
import { sample } from '../helpers/sample-messages.js';

function upgrading(t: Test, state: () => TakeOverState | { refused: string }) {
  const bus = createBus('daemon');
  const ended: MessageOf<'upgrade.ended'>[] = [];
  const lines: string[] = [];
  let onEnded: (msg: MessageOf<'upgrade.ended'>) => void = () => {};
  bus.on('upgrade.ended', (msg) => { ended.push(msg); onEnded(msg); });
  bus.on('upgrade.progress', ({ line, event }) => { lines.push(line ?? `${event!.event} ${JSON.stringify(event!.count)}`); });
  const handedOver: number[] = [];
  const stop = createUpgradeActor({
    bus, state,
    handOver: async (child) => { handedOver.push(child.pid!); },
    askerGone: () => new Promise(() => {}),
  });
  t.teardown(stop);
  const next = () => new Promise<MessageOf<'upgrade.ended'>>((resolve) => { onEnded = resolve; });
  return { bus, ended, lines, handedOver, next };
}

function takeOverState(t: Test): TakeOverState {
  const fds = [0, 1, 2].map(() => fs.openSync('/dev/null', 'r'));
  t.teardown(() => { for (const fd of fds) fs.closeSync(fd); });
  const config = sample('cmd.start').config;
  return { take: { config, release: config, generation: 3, foreground: false, fromPid: process.pid }, control: fds[0]!, listeners: { fds: [fds[1]!], names: ['http'] }, health: fds[2]! };
}

t.test('refused: while busy, with no such daemon, and while one upgrade runs', async (t) => {
  const busy = upgrading(t, () => ({ refused: 'the workers are booting' }));
  busy.bus.publish({ type: 'cmd.upgrade', requestId: 'u1', daemonEntry: compiledFixture('fake-new-daemon.js') });
  t.same(busy.ended.map(({ outcome, reason }) => [outcome, reason]), [['refused', 'the workers are booting']]);
  const missing = upgrading(t, () => takeOverState(t));
  missing.bus.publish({ type: 'cmd.upgrade', requestId: 'u2', daemonEntry: '/nowhere/daemon.js' });
  t.same(missing.ended.map(({ outcome, reason }) => [outcome, reason]), [['refused', 'there is no naught daemon at /nowhere/daemon.js']]);
});

t.test('the new daemon takes over, is ready, is handed the sockets; this daemon\'s Shutdown ends the upgrade', async (t) => {
  const { bus, ended, lines, handedOver } = upgrading(t, () => takeOverState(t));
  bus.publish({ type: 'pool.event', event: 'Ready', waitingFor: null, count: { booting: 0, online: 2, dying: 0, new_online: 0 } });
  bus.publish({ type: 'cmd.upgrade', requestId: 'u3', daemonEntry: compiledFixture('fake-new-daemon.js') });
  bus.publish({ type: 'cmd.upgrade', requestId: 'u4', daemonEntry: compiledFixture('fake-new-daemon.js') });
  t.same(ended.map(({ requestId, outcome, reason }) => [requestId, outcome, reason]), [['u4', 'refused', 'an upgrade is under way already']]);
  await new Promise<void>((resolve) => { const off = bus.on('upgrade.progress', ({ line }) => { if (line?.includes('answers on the control socket')) { off(); resolve(); } }); });
  t.equal(handedOver.length, 1);
  bus.publish({ type: 'pool.event', event: 'Shutdown', waitingFor: null, count: { booting: 0, online: 0, dying: 0, new_online: 0 } });
  const done = ended.at(-1)!;
  t.same([done.requestId, done.outcome, done.to], ['u3', 'done', '9.9.9']);
  t.match(lines, [
    /^Upgrading: naught \S+ \(pid \d+\) starts naught from .*fake-new-daemon\.js \(pid \d+\), which boots a full set of workers\.$/,
    'took /srv/app.js with 1 listener(s).',
    'SpawnNew {"booting":1,"online":2,"dying":0,"new_online":0}',
    'WorkerOnline {"booting":0,"online":2,"dying":0,"new_online":1}',
    /^Upgrading: naught 9\.9\.9 \(pid \d+\) answers on the control socket now; the old workers drain\.$/,
    'Ready {"booting":0,"online":1,"dying":0,"new_online":0}',
  ]);
});

t.test('a new daemon that exits before it is ready fails the upgrade, with its last word', async (t) => {
  const { bus, next } = upgrading(t, () => takeOverState(t));
  const ended = next();
  process.env.NAUGHT_TEST_NEW_DAEMON = 'dies';
  bus.publish({ type: 'cmd.upgrade', requestId: 'u5', daemonEntry: compiledFixture('fake-new-daemon.js') });
  delete process.env.NAUGHT_TEST_NEW_DAEMON;
  const failed = await ended;
  t.equal(failed.outcome, 'failed');
  t.match(failed.reason, /^the new daemon \(pid \d+\) exited before its workers were online: The master process 1 died \(exit code 7\) before the new workers were online\. naught \S+ runs on, unchanged\.$/);
});
