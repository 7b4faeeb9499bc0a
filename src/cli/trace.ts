// `naught trace`: the bus story, from a trace file or live from a running daemon.
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import { createBus } from '../bus/bus.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameError } from '../bus/codec.js';
import { createLink } from '../bus/link.js';
import type { Envelope } from '../bus/messages.js';
import { connect, type Io } from './talk.js';

export interface TraceFilter {
  types: RegExp | null;
  since: TimeBound | null;
  until: TimeBound | null;
}

/** An instant, or a time of day resolved on the day of the first message. */
export type TimeBound = { at: number } | { timeOfDayMs: number };

export class TraceUsageError extends Error {
  override name = 'TraceUsageError';
}

/** `pool.*`, `worker.online,notice`: `*` and `?` wildcards, commas between alternatives. */
export function typeGlob(glob: string): RegExp {
  const alternatives = glob.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (alternatives.length === 0) throw new TraceUsageError(`--type ${JSON.stringify(glob)} names no type`);
  const toRegExp = (part: string) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^(?:${alternatives.map(toRegExp).join('|')})$`);
}

export function timeBound(option: string, value: string): TimeBound {
  const clock = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(value);
  if (clock) {
    const [, h, m, s = '0', ms = '0'] = clock;
    const timeOfDayMs = ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(ms.padEnd(3, '0'));
    if (Number(h) > 23 || Number(m) > 59 || Number(s) > 59) throw new TraceUsageError(`${option} ${value}: not a time of day`);
    return { timeOfDayMs };
  }
  if (/^\d+$/.test(value)) return { at: Number(value) };
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new TraceUsageError(`${option} ${value}: not a date, epoch milliseconds or HH:MM[:SS[.mmm]]`);
  return { at };
}

/** Filters envelopes; times of day take their date from the first envelope seen. */
export function traceFilter(filter: TraceFilter): (envelope: Envelope) => boolean {
  let since: number | null = null;
  let until: number | null = null;
  let resolved = false;
  const resolve = (bound: TimeBound | null, first: number) => {
    if (bound === null) return null;
    if ('at' in bound) return bound.at;
    const midnight = new Date(first);
    midnight.setHours(0, 0, 0, 0);
    return midnight.getTime() + bound.timeOfDayMs;
  };
  return (envelope) => {
    if (!resolved) {
      since = resolve(filter.since, envelope.time);
      until = resolve(filter.until, envelope.time);
      resolved = true;
    }
    if (filter.types && !filter.types.test(envelope.msg.type)) return false;
    if (since !== null && envelope.time < since) return false;
    return until === null || envelope.time <= until;
  };
}

const MAX_INLINE_KEYS = 6;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** `HH:MM:SS.mmm  sender → type  key=value …`; nested objects as dotted keys, big ones summarised. */
export function formatEnvelope({ time, sender, msg }: Envelope): string {
  const { type, ...payload } = msg as { type: string } & Record<string, unknown>;
  const pairs = flatten(payload, '');
  return `${clockTime(time)}  ${sender} → ${type}${pairs.length ? '  ' + pairs.join(' ') : ''}`;
}

function flatten(value: Record<string, unknown>, prefix: string): string[] {
  const out: string[] = [];
  for (const [key, field] of Object.entries(value)) {
    const name = prefix + key;
    if (typeof field === 'object' && field !== null && !Array.isArray(field)) {
      const keys = Object.keys(field);
      if (keys.length > MAX_INLINE_KEYS) out.push(`${name}={${keys.length} keys}`);
      else out.push(...flatten(field as Record<string, unknown>, `${name}.`));
    } else {
      out.push(`${name}=${scalar(field)}`);
    }
  }
  return out;
}

function scalar(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

export interface TraceOutput {
  json: boolean;
  write(text: string): void;
}

const render = (envelope: Envelope, json: boolean) => (json ? JSON.stringify(envelope) : formatEnvelope(envelope)) + '\n';

/** Prints a trace file; on damage, everything before it, then one error line and status 1. */
export async function printTraceFile(out: TraceOutput, err: (text: string) => void, file: string, filter: TraceFilter): Promise<number> {
  const keep = traceFilter(filter);
  const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES, false);
  let stream: Readable;
  try {
    stream = await openTrace(file);
  } catch (error) {
    err(`naught trace: cannot read ${file}: ${(error as Error).message}\n`);
    return 1;
  }
  const damaged = (why: string) => {
    err(`naught trace: ${file} is damaged at byte ${decoder.decodedBytes}: ${why}\n`);
    return 1;
  };
  try {
    for await (const chunk of stream) {
      let text = '';
      try {
        decoder.feed(chunk as Buffer, (envelope) => { if (keep(envelope)) text += render(envelope, out.json); });
      } finally {
        if (text) out.write(text);
      }
    }
  } catch (error) {
    if (error instanceof FrameError) return damaged(error.message);
    return damaged(`${(error as Error).message}`);
  }
  if (decoder.pendingBytes > 0) return damaged(`the file ends in the middle of a frame (${decoder.pendingBytes} bytes of it)`);
  return 0;
}

/** The file as a byte stream, gunzipped when it is a rotated archive. */
async function openTrace(file: string): Promise<Readable> {
  const handle = await fs.promises.open(file, 'r');
  const magic = Buffer.alloc(2);
  await handle.read(magic, 0, 2, 0);
  const stream = handle.createReadStream({ start: 0, highWaterMark: 256 * 1024 });
  return magic[0] === 0x1f && magic[1] === 0x8b ? stream.pipe(zlib.createGunzip()) : stream;
}

/**
 * `trace --follow`: prints the daemon's messages as they cross its bus, until it stops
 * (status 0) or drops us (status 1: we stopped reading for too long, or it died).
 */
export async function followTrace(io: Io, out: TraceOutput, ipcFile: string, filter: TraceFilter): Promise<number> {
  const socket = await connect(io, ipcFile, 1);
  return typeof socket === 'number' ? socket : follow(out, io.err, socket, filter);
}

function follow(out: TraceOutput, err: (text: string) => void, socket: import('node:net').Socket, filter: TraceFilter): Promise<number> {
  const keep = traceFilter(filter);
  const bus = createBus(`trace:${process.pid}`);
  const link = createLink(bus, socket, { name: `trace:${process.pid}`, wants: ['*'] });
  let sawShutdown = false;
  bus.onAny((envelope, origin) => {
    if (origin !== link) return;
    if (envelope.msg.type === 'pool.event' && envelope.msg.event === 'Shutdown') sawShutdown = true;
    if (keep(envelope)) out.write(render(envelope, out.json));
  });
  return link.closed.then((error) => {
    if (sawShutdown) return 0;
    err(`naught trace: the daemon closed the connection${error ? `: ${error.message}` : ''}\n`);
    return 1;
  });
}
