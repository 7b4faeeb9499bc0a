// In the master: each worker's stdout and stderr arrive on pipes of their own and are
// passed on as whole lines, so lines of different workers never tear or interleave
// (a shared pipe only keeps writes under 4 KiB whole). Back-pressure runs from the log
// file back to the worker: a full pipe slows the worker, nothing queues without bound.
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { Worker } from 'node:cluster';
import type { OutputMode } from '../bus/messages.js';
import { LineFramer } from './line-framer.js';

export interface WorkerOutput {
  attach(worker: Worker): void;
}

export function createWorkerOutput(modes: { stdout: OutputMode; stderr: OutputMode }): WorkerOutput {
  const stdout = destination(modes.stdout, 1);
  const stderr = destination(modes.stderr, 2);
  return {
    attach(worker) {
      route(worker.process.stdout, stdout);
      route(worker.process.stderr, stderr);
    },
  };
}

function destination(mode: OutputMode, fd: 1 | 2): Writable | null {
  if (mode === 'ignore') return null;
  if (mode === 'inherit') return fd === 1 ? process.stdout : process.stderr;
  // process.stdout on a pipe writes synchronously and would block the master when the
  // daemon lags; a socket on the same fd waits instead.
  const socket = new net.Socket({ fd, readable: false, writable: true });
  socket.on('error', () => {}); // the daemon is gone; the master's link sees it too
  return socket;
}

function route(source: Readable | null, target: Writable | null): void {
  if (!source) return;
  if (!target) return void source.resume();
  source.pipe(new LineFramer()).pipe(target, { end: false });
}
