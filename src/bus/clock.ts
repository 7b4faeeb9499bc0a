// Time and timers, injected into what waits (the heartbeat, the child supervisor, the
// actors), so that tests run them on simulated time.

/** Time and one-shot timers; a timer never keeps the process alive. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: Date.now,
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
