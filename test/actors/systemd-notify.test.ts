// What systemd hears, on a real datagram socket, from an in-memory bus on simulated time:
// READY at the first Ready, RELOADING while a deploy runs, STOPPING, the watchdog only while
// the master answers, extensions only while something is under way, and MAINPID on upgrade.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBus } from '../../src/bus/bus.js';
import type { PoolEvent } from '../../src/bus/messages.js';
import { createSystemdNotifyActor } from '../../src/actors/systemd-notify.js';
import { simulatedClock } from '../helpers/clock.js';
import { notifySocket } from '../helpers/notify-socket.js';
import type { Sandbox } from '../helpers/naught.js';
import { waitFor } from '../helpers/naught.js';

const event = (event: PoolEvent['event'], waitingFor: PoolEvent['waitingFor'] = null): PoolEvent =>
  ({ event, waitingFor, count: { booting: 0, online: 1, dying: 0, new_online: 0 } });

t.test('the phases of a boot, a deploy and a stop, and the watchdog fed while the master answers', async (t) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-notify-'));
  t.teardown(() => fs.rmSync(folder, { recursive: true, force: true }));
  const systemd = notifySocket({ path: (name: string) => path.join(folder, name) } as Sandbox, t);
  const bus = createBus('daemon');
  const sim = simulatedClock();
  const answering = { now: true };
  const warnings: string[] = [];
  const notify = createSystemdNotifyActor({
    bus, clock: sim.clock, masterAnswering: () => answering.now, warn: (line) => warnings.push(line),
    env: { NOTIFY_SOCKET: systemd.path, WATCHDOG_USEC: '4000000', WATCHDOG_PID: String(process.pid) },
  });
  t.teardown(() => notify.close());
  /** Everything but STATUS, once `count` of them have come. */
  const heard = (count: number) => waitFor(`${count} datagrams`, () => (systemd.received.filter((text) => !text.startsWith('STATUS=')).length >= count ? systemd.received.filter((text) => !text.startsWith('STATUS=')) : null));

  sim.pass(2_000);
  t.same(await heard(1), ['WATCHDOG=1'], 'fed every WATCHDOG_USEC / 2');
  answering.now = false;
  sim.pass(3_000);
  t.same(await heard(2), ['WATCHDOG=1', 'EXTEND_TIMEOUT_USEC=10000000'], 'not fed while the master does not answer; the boot is extended at 5 s');
  answering.now = true;
  bus.publish({ type: 'pool.event', ...event('Ready') });
  t.same((await heard(3)).at(-1), 'READY=1');
  sim.pass(5_000);
  const afterBoot = await heard(6);
  t.same(afterBoot.slice(3), ['WATCHDOG=1', 'WATCHDOG=1', 'WATCHDOG=1'], 'fed at 6, 8 and 10 s; no extension once idle');

  bus.publish({ type: 'pool.event', ...event('SpawnNew', 'new') });
  bus.publish({ type: 'pool.event', ...event('SpawnNew', 'new') });
  const reload = (await heard(7)).at(-1)!;
  t.match(reload, /^RELOADING=1\nMONOTONIC_USEC=\d+$/, 'once per deploy');
  bus.publish({ type: 'pool.event', ...event('DeployFailed') });
  t.same((await heard(8)).at(-1), 'READY=1', 'a deploy\'s end, failed or not, ends the reload');
  bus.publish({ type: 'cmd.stop', requestId: 's', timeoutMs: null });
  t.same((await heard(9)).at(-1), 'STOPPING=1');
  t.ok(systemd.statuses().includes('Ready. booting: 0, online: 1, dying: 0, new_online: 0'), systemd.statuses().join('\n'));

  notify.handOver(4321);
  t.same((await heard(10)).at(-1), 'MAINPID=4321');
  t.same(warnings, []);
});

t.test('an abstract NOTIFY_SOCKET is said once, and nothing is sent', async (t) => {
  const warnings: string[] = [];
  const notify = createSystemdNotifyActor({ bus: createBus('daemon'), masterAnswering: () => true, warn: (line) => warnings.push(line), env: { NOTIFY_SOCKET: '@abstract' } });
  notify.close();
  t.match(warnings, [/^NOTIFY_SOCKET is set, but naught cannot tell systemd anything: @abstract is an abstract socket/]);
});
