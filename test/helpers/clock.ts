// Simulated time for the parts that take a clock (the heartbeat, the child supervisor, actors).
import type { Clock } from '../../src/bus/clock.js';

/** A clock that moves only when told to, running each timer at the instant it is due. */
export function simulatedClock(start = 0) {
  let time = start;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const clock: Clock = {
    now: () => time,
    after(ms, fn) {
      const id = ++ids;
      timers.push({ at: time + ms, fn, id });
      return () => { timers = timers.filter((timer) => timer.id !== id); };
    },
  };
  /** Moves to `until`, firing every timer due on the way, in order. */
  function advance(until: number): void {
    for (;;) {
      const next = timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      timers = timers.filter((timer) => timer !== next);
      time = next.at;
      next.fn();
    }
    time = until;
  }
  return { clock, advance, pass: (ms: number) => advance(time + ms), pending: () => timers.length };
}
