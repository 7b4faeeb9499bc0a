// Restart delays for something that keeps dying: at once the first time, then doubling
// from 100 ms up to 30 s; a run of 60 s without dying (for workers: 1 s of serving)
// forgets the earlier failures.
export const BACKOFF_FIRST_MS = 100;
export const BACKOFF_MAX_MS = 30_000;
export const BACKOFF_RESET_AFTER_MS = 60_000;
/**
 * A worker that served this long before it died was killed (the OOM killer, a query of
 * death, an operator's kill -9), not caught in a crash loop: it restarts at once. Counting
 * such deaths made two killed serving workers wait at the same time, and nothing served.
 * (PM2's min_uptime is 1 s; einhorn counts only deaths before the worker's ack.)
 */
export const WORKER_SERVED_MS = 1_000;

export interface Backoff {
  /** Consecutive failures, this one included. */
  failures: number;
  delayMs: number;
}

export function nextBackoff(previousFailures: number, upSinceMs: number | null, nowMs: number, resetAfterMs = BACKOFF_RESET_AFTER_MS): Backoff {
  const stayedUp = upSinceMs !== null && nowMs - upSinceMs >= resetAfterMs;
  const failures = (stayedUp ? 0 : previousFailures) + 1;
  const delayMs = failures === 1 ? 0 : Math.min(BACKOFF_FIRST_MS * 2 ** (failures - 2), BACKOFF_MAX_MS);
  return { failures, delayMs };
}
