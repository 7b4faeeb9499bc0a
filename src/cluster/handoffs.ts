// Connections the cluster primary hands to a worker that dies before taking them.
//
// Node's round-robin primary accepts each connection, sends it to a worker, and closes
// its own copy only once the worker says it took it. A worker killed in between never
// says so: the primary's copy stays open, unread, and the client waits forever in
// CLOSE-WAIT (nodejs/node#21746). Here every hand-off is remembered by the worker it was
// last sent to; when that worker exits, each one the primary still holds is closed, so
// its client sees the connection end at once instead of hanging.
import type { Worker } from 'node:cluster';

interface Handle { fd: number; close(): void }
interface ClusterMessage { cmd?: unknown; act?: unknown }

/** Who each hand-off was last sent to: a refused one is sent on to another worker. */
const lastSentTo = new Map<Handle, Worker>();

export function watchHandoffs(worker: Worker, onHandoff: () => void = () => {}): void {
  const child = worker.process as unknown as { send: (...args: unknown[]) => boolean };
  const send = child.send;
  child.send = function sendAndRemember(this: unknown, message: unknown, handle?: unknown, ...rest: unknown[]) {
    const { cmd, act } = (message ?? {}) as ClusterMessage;
    if (cmd === 'NODE_CLUSTER' && act === 'newconn' && isHandle(handle)) {
      forgetTaken();
      lastSentTo.set(handle, worker);
      onHandoff();
    }
    return send.call(this, message, handle, ...rest);
  };
  worker.process.once('exit', () => {
    forgetTaken();
    for (const [handle, owner] of lastSentTo) {
      if (owner !== worker) continue;
      lastSentTo.delete(handle);
      handle.close();
    }
  });
}

/** Hand-offs a worker took were closed by the primary; few others are ever in flight. */
function forgetTaken(): void {
  for (const handle of lastSentTo.keys()) if (handle.fd < 0) lastSentTo.delete(handle);
}

function isHandle(value: unknown): value is Handle {
  return typeof value === 'object' && value !== null && typeof (value as Handle).close === 'function' && typeof (value as Handle).fd === 'number';
}
