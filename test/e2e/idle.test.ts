// An idle naught costs nothing: with 2 idle workers (naught/worker servers), the daemon
// and the master use no clock tick over 15 s, and with the tracer and a plugin at most one.
// A tick is 10 ms of CPU; /proc/PID/stat counts whole ones (user + system), a floor of the
// CPU time that /proc/PID/task/*/schedstat gives in nanoseconds. So a process that wakes
// once for 0.5 ms still shows a tick when its total crosses a multiple of 10 ms: what is
// asserted is the CPU time, under half a tick (one), and the ticks read go in the message.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { cpuNs, cpuTicks as ticks } from '../helpers/cpu.js';
import { freePort, masterOf, Sandbox } from '../helpers/naught.js';

/**
 * Ends before the master's first idle ping, which comes 30 s after its last answer, some
 * 37.5 s after the last work, and costs tens of ms in each process (measured, every line):
 * the window measures the rest between pings, 16-31 s after the start, with room for a
 * loaded machine's delays (a 20 s window ended 1.5 s before that ping).
 */
const WINDOW_MS = 15_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits out the start, then counts over WINDOW_MS. V8's memory reducer collects about 8 s
 * after the last allocations (some 15 ms of CPU in each process), then rests until the next work.
 */
async function idleCost(pids: number[]): Promise<{ ticks: number; cpuMs: number }> {
  const sum = (read: (pid: number) => number) => pids.reduce((total, pid) => total + read(pid), 0);
  await sleep(12_000); // also past the master heartbeat's busy spell (10 s after the last work)
  for (let quiet = 0, tries = 0; quiet < 2 && tries < 15; tries++) {
    const before = sum(ticks);
    await sleep(2_000);
    quiet = sum(ticks) === before ? quiet + 1 : 0;
  }
  const before = { ticks: sum(ticks), cpu: sum(cpuNs) };
  await sleep(WINDOW_MS);
  return { ticks: sum(ticks) - before.ticks, cpuMs: Math.round((sum(cpuNs) - before.cpu) / 1e4) / 100 };
}

async function serving(t: Test, args: string[]): Promise<{ box: Sandbox; pids: number[] }> {
  const box = new Sandbox(t);
  const start = await box.naught(['start', '--worker-count', '2', ...args, fixture('helper/blocks.mjs')], { PORT: String(await freePort()) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  return { box, pids: [box.daemonPid()!, masterOf(box)] };
}

// Both at once: each count is of its own processes only.
t.test('idle: no clock tick for daemon and master over 15 s; at most one with the tracer and a plugin', async (t) => {
  const plain = await serving(t, []);
  const traced = await serving(t, ['--trace', 'trace.bin', '--plugin', `naught/plugins/prometheus={"port":${await freePort()}}`]);
  const [bare, extra] = await Promise.all([idleCost(plain.pids), idleCost(traced.pids)]);
  t.ok(bare.cpuMs < 5, `2 idle workers: ${bare.cpuMs} ms of CPU, under half a tick (ticks read: ${bare.ticks})`);
  t.ok(extra.cpuMs < 10, `with --trace and the Prometheus plugin: ${extra.cpuMs} ms of CPU, under one tick (ticks read: ${extra.ticks})`);
  t.ok(fs.statSync(traced.box.path('trace.bin')).size > 0, 'the tracer ran');
});
