// Serves `naught logs`: the workers' latest output in the order naught wrote it, then, for
// a follower, every further line as the log rotator writes it. Files, rotations and
// reopens do not matter here: the lines come from the rotator, not from disk.
//
// Worker output is data, not messages: the lines go to the asker's link alone and never
// cross the bus (the trace and plugins never hold them). What a reader should know about
// its feed (`logs.tailed`, `logs.missed`) is a reply, and traced.
//
// A follower never slows the workers: once its link holds FOLLOWER_MAX_BEHIND_BYTES it is
// sent nothing and its lines are counted, and it is told the count when it has caught up.
import type { Bus } from '../bus/bus.js';
import { systemClock, type Clock } from '../bus/clock.js';
import type { Link } from '../bus/link.js';
import type { MessageOf, WorkerStreamName } from '../bus/messages.js';
import { countLines } from '../logs/count-lines.js';
import { RecentOutput } from '../logs/recent-output.js';
import type { LinesHeard } from '../logs/log-sink.js';

const FOLLOWER_MAX_BEHIND_BYTES = 256 * 1024;
/** Well under a frame's limit; cut at a line's end where one is near. */
const PIECE_BYTES = 64 * 1024;
const CATCH_UP_CHECK_MS = 100;
const STREAMS: readonly WorkerStreamName[] = ['stdout', 'stderr'];
const NEWLINE = 0x0a;

export interface LogFeed extends LinesHeard {
  /** A group of whole lines a worker (or the master) wrote, on the log's hot path; its buffers may be reused after. */
  add(stream: WorkerStreamName, group: readonly Buffer[]): void;
  /** Tells every follower what it missed; the daemon closes the links after. */
  close(): void;
}

interface Follower { link: Link; requestId: string; streams: ReadonlySet<WorkerStreamName>; missed: number }

export function createLogFeedActor(deps: {
  bus: Bus;
  files: Record<WorkerStreamName, string | null>;
  /** The client link a command came from; null for anyone else (a plugin host). */
  askerOf: (origin: unknown) => Link | null;
  clock?: Clock;
}): LogFeed {
  const { bus, files, askerOf } = deps;
  const clock = deps.clock ?? systemClock;
  const recent = new RecentOutput();
  const followers = new Set<Follower>();
  let catchUpTimer: (() => void) | null = null;

  const off = bus.on('cmd.logs', (msg, _envelope, origin) => {
    const link = askerOf(origin);
    if (!link) return;
    const wanted = Array.isArray(msg.streams) ? STREAMS.filter((stream) => msg.streams.includes(stream)) : [];
    const streams = new Set(wanted.length > 0 ? wanted : STREAMS);
    const count = Number.isSafeInteger(msg.lines) && msg.lines >= 0 ? msg.lines : 0;
    const reader: Follower = { link, requestId: msg.requestId, streams, missed: 0 };
    let run: string[] = [];
    let runStream: WorkerStreamName | null = null;
    const sendRun = () => { if (runStream && run.length > 0) sendPieces(reader, runStream, Buffer.from(run.join('\n') + '\n'), false); };
    for (const line of count > 0 ? recent.last(count, streams) : []) {
      if (line.stream !== runStream) {
        sendRun();
        run = [];
        runStream = line.stream;
      }
      run.push(line.text);
    }
    sendRun();
    const following = msg.follow === true;
    bus.publish({ type: 'logs.tailed', requestId: msg.requestId, files, following });
    if (!following) return;
    followers.add(reader);
    void link.closed.then(() => followers.delete(reader));
  });

  function sendPieces(reader: Follower, stream: WorkerStreamName, data: Buffer, mayMiss: boolean): void {
    for (let at = 0; at < data.length;) {
      let end = Math.min(data.length, at + PIECE_BYTES);
      if (end < data.length) {
        const lineEnd = data.lastIndexOf(NEWLINE, end - 1);
        if (lineEnd >= at) end = lineEnd + 1;
      }
      const piece = data.subarray(at, end);
      at = end;
      if (mayMiss && reader.link.bufferedBytes > FOLLOWER_MAX_BEHIND_BYTES) {
        reader.missed += countLines(piece);
        watchCatchUp();
        continue;
      }
      if (reader.missed > 0) tellMissed(reader);
      const lines: MessageOf<'logs.lines'> = { type: 'logs.lines', requestId: reader.requestId, stream, data: piece };
      reader.link.tell(lines);
    }
  }

  function tellMissed(reader: Follower): void {
    bus.publish({ type: 'logs.missed', requestId: reader.requestId, lines: reader.missed });
    reader.missed = 0;
  }

  /** A reader that fell behind and then went quiet still hears what it missed. */
  function watchCatchUp(): void {
    if (catchUpTimer) return;
    const check = () => {
      let behind = false;
      for (const reader of followers) {
        if (reader.missed === 0) continue;
        if (reader.link.bufferedBytes <= FOLLOWER_MAX_BEHIND_BYTES) tellMissed(reader);
        else behind = true;
      }
      catchUpTimer = behind ? clock.after(CATCH_UP_CHECK_MS, check) : null;
    };
    catchUpTimer = clock.after(CATCH_UP_CHECK_MS, check);
  }

  function stopWatching(): void {
    catchUpTimer?.();
    catchUpTimer = null;
  }

  return {
    add(stream, group) {
      recent.add(stream, group);
      if (followers.size === 0) return;
      let data: Buffer | null = null;
      for (const reader of followers) {
        if (!reader.streams.has(stream)) continue;
        // Sent frames are encoded at once, so the reused read buffer may be passed as it is.
        data ??= group.length === 1 ? group[0]! : Buffer.concat(group);
        sendPieces(reader, stream, data, true);
      }
    },
    close() {
      off();
      stopWatching();
      for (const reader of followers) if (reader.missed > 0) tellMissed(reader);
      followers.clear();
    },
  };
}

