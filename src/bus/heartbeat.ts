// A link's heartbeat: pings a peer not heard from for intervalMs while there is work, or for
// idleIntervalMs once nothing but pings and pongs has crossed for twice timeoutMs (so an idle
// link wakes nobody), and gives the peer up when a ping goes unanswered for timeoutMs (a hung
// event loop). Its clock is injected: the tests run it on simulated time.

import { systemClock, type Clock } from './clock.js';

export interface HeartbeatTiming { intervalMs: number; timeoutMs: number; idleIntervalMs: number }

export interface Heartbeat {
  /** Something crossed the link from the peer: a pong answers our ping, anything else is its work too. */
  heard(pong: boolean): void;
  /** Work went out on this end: the next ping comes at the busy interval. */
  busy(): void;
  /**
   * False once a ping has gone unanswered for intervalMs: the peer may be hung. Pings the
   * peer now if it was last heard from over intervalMs ago, so that a caller that asks
   * regularly (a liveness probe, the systemd watchdog) keeps the answer fresh.
   */
  answering(): boolean;
  stop(): void;
}

export function createHeartbeat(timing: HeartbeatTiming, deps: {
  clock?: Clock;
  /** Sends ping number n. */
  ping(n: number): void;
  /** The peer left a ping unanswered for timeoutMs. */
  unresponsive(): void;
}): Heartbeat {
  const { intervalMs, timeoutMs, idleIntervalMs } = timing;
  const clock = deps.clock ?? systemClock;
  let lastHeard = clock.now();
  let lastBusy = lastHeard;
  let pingedAt: number | null = null;
  let pings = 0;
  let stopped = false;
  let cancel: (() => void) | null = null;
  /** When the timer is due, to tell whether work calls for an earlier ping. */
  let due = Infinity;

  function arm(ms: number): void {
    cancel?.();
    due = clock.now() + ms;
    cancel = clock.after(ms, check);
  }

  function ping(): void {
    pingedAt = clock.now();
    deps.ping(++pings);
  }

  function check(): void {
    if (stopped) return;
    const now = clock.now();
    if (pingedAt !== null && lastHeard < pingedAt) {
      if (now - pingedAt >= timeoutMs) {
        stop();
        return deps.unresponsive();
      }
      return arm(pingedAt + timeoutMs - now);
    }
    pingedAt = null;
    const every = now - lastBusy < 2 * timeoutMs ? intervalMs : idleIntervalMs;
    const silentMs = now - lastHeard;
    if (silentMs < every) return arm(every - silentMs);
    ping();
    arm(timeoutMs);
  }

  function busy(now: number): void {
    lastBusy = now;
    // Woken from an idle spell: the next ping comes at the busy interval, not the idle one.
    if (!stopped && due - lastBusy > intervalMs) arm(intervalMs);
  }

  function stop(): void {
    stopped = true;
    cancel?.();
    cancel = null;
  }

  arm(intervalMs);
  return {
    heard(pong) {
      if (stopped) return;
      lastHeard = clock.now();
      if (!pong) return busy(lastHeard);
      // The answer to our ping: the next one is due an interval from now, not at its timeout.
      if (pingedAt === null) return;
      pingedAt = null;
      check();
    },
    busy: () => busy(clock.now()),
    answering() {
      if (stopped) return false;
      const now = clock.now();
      if (pingedAt !== null && lastHeard < pingedAt) return now - pingedAt < intervalMs;
      if (now - lastHeard >= intervalMs) {
        ping();
        arm(timeoutMs);
      }
      return true;
    },
    stop,
  };
}
