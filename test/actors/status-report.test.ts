// The status document on an in-memory bus with simulated time: the daemon's part joined to
// the master's census, or without it when no master runs or its census is late.
import t from 'tap';
import { createBus } from '../../src/bus/bus.js';
import type { MessageOf } from '../../src/bus/messages.js';
import { createStatusReportActor } from '../../src/actors/status-report.js';
import { simulatedClock } from '../helpers/clock.js';
import { sample } from '../helpers/sample-messages.js';

function reporting(master: { pid: number; restarts: number } | null) {
  const bus = createBus('daemon');
  const sim = simulatedClock(5_000_000);
  const config = sample('cmd.start').config;
  const reports: MessageOf<'status.report'>[] = [];
  bus.on('status.report', (msg) => reports.push(msg));
  const stop = createStatusReportActor({
    bus, config, clock: sim.clock, master: () => master,
    release: () => ({ ...config, drain: 'off', drainRecentMs: 250 }),
    plugins: () => [], logs: () => [], trace: () => null,
  });
  return { bus, sim, reports, stop };
}

t.test('with a master: the report waits for its census and joins it', async (t) => {
  const { bus, sim, reports, stop } = reporting({ pid: 4200, restarts: 2 });
  t.teardown(stop);
  sim.pass(12_400);
  bus.publish({ type: 'cmd.inspect', requestId: 'r10' });
  t.same(reports, [], 'not before the census');
  bus.publish({ ...sample('master.census'), requestId: 'other' });
  t.same(reports, [], 'another asker\'s census is not this one\'s');
  const census = sample('master.census');
  bus.publish(census);
  t.equal(reports.length, 1);
  const { report } = reports[0]!;
  t.same(report.master, { pid: 4200, rssBytes: 50_000_000, restarts: 2 });
  t.same(report.pool, census.pool);
  t.same(report.workers, census.workers);
  t.same(report.daemon.drain, { mode: 'off', recentMs: 250 }, 'the release the workers run, not the start config');
  t.equal(report.daemon.uptimeSeconds, 12);
  t.equal(report.daemon.ipcFile, '/srv/naught.ipc');
  sim.pass(10_000);
  t.equal(reports.length, 1, 'answered once');
});

t.test('a census later than 3 s: the document comes without it, at 3 s', async (t) => {
  const { bus, sim, reports, stop } = reporting({ pid: 4200, restarts: 0 });
  t.teardown(stop);
  bus.publish({ type: 'cmd.inspect', requestId: 'r10' });
  sim.pass(2_999);
  t.same(reports, []);
  sim.pass(1);
  t.equal(reports.length, 1);
  t.same([reports[0]!.report.pool, reports[0]!.report.workers, reports[0]!.report.master], [null, [], { pid: 4200, rssBytes: null, restarts: 0 }]);
  bus.publish(sample('master.census'));
  t.equal(reports.length, 1, 'the late census is dropped');
});

t.test('no master (between two): answered at once, master null', async (t) => {
  const { bus, reports, stop } = reporting(null);
  t.teardown(stop);
  bus.publish({ type: 'cmd.inspect', requestId: 'r1' });
  t.equal(reports.length, 1);
  t.equal(reports[0]!.report.master, null);
  t.equal(reports[0]!.report.running, true);
});
