// In the master: where each worker's stdout and stderr go. Every worker writes into pipes
// of its own, so lines of different workers never tear or interleave (a shared pipe only
// keeps writes under 4 KiB whole).
//
// Into log files ('pipe'): the read ends are handed to the daemon, whose log rotator reads
// them directly, so a log flood never passes through this process. Back-pressure runs from
// the log file back to the worker: a full pipe slows the worker, nothing queues unbounded.
import type { Readable, Writable } from 'node:stream';
import type { Worker } from 'node:cluster';
import type { OutputMode, WorkerStreamName } from '../bus/messages.js';
import { lineFramed } from './line-framer.js';

export interface WorkerOutput {
  attach(worker: Worker): void;
}

/** Passes a pipe's read end to the daemon; the daemon's log rotator owns it from then on. */
export type HandOver = (stream: WorkerStreamName, source: Readable, pid: number) => void;

export function createWorkerOutput(modes: { stdout: OutputMode; stderr: OutputMode }, handOver: HandOver): WorkerOutput {
  const route = (stream: WorkerStreamName, source: Readable | null, pid: number) => {
    if (!source) return;
    const mode = modes[stream];
    if (mode === 'pipe') return handOver(stream, source, pid);
    if (mode === 'ignore') return void source.resume();
    const terminal: Writable = stream === 'stdout' ? process.stdout : process.stderr;
    source.pipe(lineFramed()).pipe(terminal, { end: false });
  };
  return {
    attach(worker) {
      route('stdout', worker.process.stdout, worker.process.pid ?? 0);
      route('stderr', worker.process.stderr, worker.process.pid ?? 0);
    },
  };
}
