// Option values, read strictly: a value that is not wholly a number of the kind asked (with
// the units listed), or that is out of range, is refused with a line that names the option,
// the value and what is accepted. naught 1.6 read `10abc` as 10 and `abc` seconds as none.
import { availableCpus } from './cpus.js';

export class BadValue extends Error {
  constructor(readonly option: string, readonly value: string, readonly accepted: string) {
    super(`${option} ${JSON.stringify(value)} is not accepted: ${accepted}`);
  }
}

/** The longest a Node timer can wait: setTimeout fires at once past it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/**
 * Without `--worker-count-limit`, at most this many workers: 8 per CPU naught may use, so
 * that a slip (`1e5`, an extra digit) cannot fork the machine to a halt.
 */
export const workerCountLimit = (): number => 8 * availableCpus();

const WHOLE = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;

export function wholeNumber(option: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!WHOLE.test(value) || n < min || n > max) throw new BadValue(option, value, `a whole number from ${min} to ${max}`);
  return n;
}

/** `auto` (one per CPU), or a whole number up to `limit` (0 allowed for deploy's "keep the count"). */
export function workerCount(option: string, value: string, min: 0 | 1, limit: number): number {
  if (value === 'auto') return availableCpus();
  const n = Number(value);
  if (!WHOLE.test(value) || n < min) throw new BadValue(option, value, `auto, or a whole number from ${min} to ${limit}`);
  if (n > limit) throw new BadValue(option, value, `at most ${limit} workers here (8 per CPU); --worker-count-limit ${n} allows more`);
  return n;
}

/** Seconds, fractions allowed, more than 0; `none` means no limit (null). In ms. */
export function seconds(option: string, value: string, minSeconds = 0.001): number | null {
  if (value === 'none') return null;
  const n = Number(value);
  if (!DECIMAL.test(value) || n < minSeconds || n > MAX_SECONDS) {
    throw new BadValue(option, value, `none, or seconds from ${minSeconds} to ${MAX_SECONDS} (fractions allowed)`);
  }
  return Math.round(n * 1000);
}

/** Bytes, or a number with K, M or G (powers of 1024), more than 0. */
export function size(option: string, value: string): number {
  // Whole bytes, or a number (fractions allowed) with a unit.
  const match = /^(\d+)()$|^(\d+(?:\.\d+)?)([KMG])$/i.exec(value);
  const bytes = match ? Math.round(Number(match[1] ?? match[3]) * 1024 ** ' KMG'.indexOf((match[2] || match[4] || ' ').toUpperCase())) : 0;
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw new BadValue(option, value, 'a size in bytes from 1, or with K, M or G (512K, 10M, 1G)');
  return bytes;
}

/** A whole number, or `none` (null). */
export function wholeOrNone(option: string, value: string, min: number): number | null {
  if (value === 'none') return null;
  const n = Number(value);
  if (!WHOLE.test(value) || n < min || !Number.isSafeInteger(n)) throw new BadValue(option, value, `none, or a whole number from ${min}`);
  return n;
}

/** `start --ready`: online, listening, or seconds with an `s` (`5s`, `0.5s`). */
export function readyMode(option: string, value: string): 'online' | 'listening' | number {
  if (value === 'online' || value === 'listening') return value;
  const seconds = /^(\d+(?:\.\d+)?)s$/.exec(value)?.[1];
  const ms = seconds === undefined ? NaN : Math.round(Number(seconds) * 1000);
  if (!(ms >= 1 && ms <= MAX_SECONDS * 1000)) throw new BadValue(option, value, `online, listening, or seconds with an s, from 0.001s to ${MAX_SECONDS}s`);
  return ms;
}

export function oneOf<T extends string>(option: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) throw new BadValue(option, value, `one of ${choices.join(', ')}`);
  return value as T;
}
