// Restart delays for something that keeps dying: at once the first time, then doubling
// from 100 ms up to 30 s; a run of 60 s without dying forgets the earlier failures.
export const BACKOFF_FIRST_MS = 100;
export const BACKOFF_MAX_MS = 30_000;
export const BACKOFF_RESET_AFTER_MS = 60_000;

export interface Backoff {
  /** Consecutive failures, this one included. */
  failures: number;
  delayMs: number;
}

export function nextBackoff(previousFailures: number, upSinceMs: number | null, nowMs: number): Backoff {
  const stayedUp = upSinceMs !== null && nowMs - upSinceMs >= BACKOFF_RESET_AFTER_MS;
  const failures = (stayedUp ? 0 : previousFailures) + 1;
  const delayMs = failures === 1 ? 0 : Math.min(BACKOFF_FIRST_MS * 2 ** (failures - 2), BACKOFF_MAX_MS);
  return { failures, delayMs };
}
