// The link's heartbeat on simulated time: every ping and the give-up land at exact instants.
import t from 'tap';
import { createHeartbeat, type HeartbeatTiming } from '../../src/bus/heartbeat.js';
import { simulatedClock } from '../helpers/clock.js';

const TIMING: HeartbeatTiming = { intervalMs: 2_500, timeoutMs: 5_000, idleIntervalMs: 30_000 };

/** A heartbeat whose peer answers each ping at once (or never, when `hung`); what it did, and when. */
function harness(options: { hung?: boolean } = {}) {
  const sim = simulatedClock();
  const pings: number[] = [];
  let gaveUpAt: number | null = null;
  const beat = createHeartbeat(TIMING, {
    clock: sim.clock,
    ping: () => {
      pings.push(sim.clock.now());
      // The pong comes back in the same instant, but after this turn, as from a real peer.
      if (!options.hung) sim.clock.after(0, () => beat.heard(true));
    },
    unresponsive: () => { gaveUpAt = sim.clock.now(); },
  });
  return { sim, beat, pings, gaveUpAt: () => gaveUpAt };
}

t.test('an idle peer that answers: pinged every interval until twice the timeout has passed without work, then an idle interval after it was last heard', async (t) => {
  const { sim, pings } = harness();
  sim.advance(100_000);
  // At 10 s the link has been idle for 2 x 5 s: the next ping is 30 s after the answer at 7.5 s.
  t.same(pings, [2_500, 5_000, 7_500, 37_500, 67_500, 97_500]);
});

t.test('work keeps the busy interval; work after an idle spell brings the next ping forward to one interval', async (t) => {
  const { sim, beat, pings } = harness();
  for (let at = 1_000; at <= 20_000; at += 1_000) {
    sim.advance(at);
    beat.busy();
  }
  t.same(pings.filter((at) => at <= 20_000), [2_500, 5_000, 7_500, 10_000, 12_500, 15_000, 17_500, 20_000], 'busy: every 2.5 s');
  sim.advance(60_000);
  t.same(pings.filter((at) => at > 20_000), [22_500, 25_000, 27_500, 57_500], 'then idle: 30 s after the last answer once 10 s passed without work');
  sim.advance(61_000);
  beat.busy();
  sim.advance(70_000);
  t.same(pings.filter((at) => at > 60_000), [63_500, 66_000, 68_500], 'work at 61 s: the next ping 2.5 s later, not at 87.5 s');
});

t.test('anything heard from the peer puts the next ping off; a ping from it (stir) is work too', async (t) => {
  const { sim, beat, pings } = harness();
  sim.advance(2_000);
  beat.heard(false);
  sim.advance(5_000);
  t.same(pings, [4_500], 'heard at 2 s: the ping waits until 4.5 s');
});

t.test('a hung peer: given up exactly timeoutMs after the unanswered ping; answering() says no after intervalMs of it', async (t) => {
  const { sim, beat, pings, gaveUpAt } = harness({ hung: true });
  sim.advance(2_500);
  t.same(pings, [2_500]);
  sim.advance(4_999);
  t.ok(beat.answering(), 'still within the interval after the ping');
  sim.advance(5_000);
  t.notOk(beat.answering(), 'a ping unanswered for the interval: not answering');
  sim.advance(7_499);
  t.equal(gaveUpAt(), null);
  sim.advance(7_500);
  t.equal(gaveUpAt(), 7_500, 'given up at the ping plus timeoutMs');
  t.equal(sim.pending(), 0, 'and no timer is left');
  t.notOk(beat.answering(), 'stopped');
});

t.test('answering() asks afresh when the peer was last heard from an interval ago', async (t) => {
  const { sim, beat, pings } = harness();
  sim.advance(11_000);
  t.same(pings, [2_500, 5_000, 7_500], 'idle since 10 s: the next ping would be at 37.5 s');
  sim.advance(13_000);
  t.ok(beat.answering());
  t.same(pings.at(-1), 13_000, 'a probe 3 s after the last answer pings at once');
  sim.advance(13_500);
  t.ok(beat.answering());
  t.same(pings.at(-1), 13_000, 'one heard 0.5 s ago does not');
});

t.test('stop() leaves no timer and no ping', async (t) => {
  const { sim, beat, pings } = harness();
  beat.stop();
  sim.advance(100_000);
  t.same(pings, []);
  t.equal(sim.pending(), 0);
});
