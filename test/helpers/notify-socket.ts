// A test-side NOTIFY_SOCKET that keeps every datagram naught sends, in order, as systemd
// would receive them.
import { createRequire } from 'node:module';
import type { Sandbox } from './naught.js';

interface Datagrams { bind(path: string): void; on(event: 'data', handler: (message: Buffer) => void): void; close(): void }
const { DgramSocket } = createRequire(import.meta.url)('node-unix-socket') as { DgramSocket: new () => Datagrams };

export function notifySocket(box: Sandbox, t: { teardown(fn: () => unknown): void }) {
  const path = box.path('notify.sock');
  const socket = new DgramSocket();
  const received: string[] = [];
  socket.on('data', (message) => received.push(message.toString()));
  socket.bind(path);
  t.teardown(() => socket.close());
  return {
    path,
    received,
    /** Everything but WATCHDOG and STATUS, the messages that mark the phases. */
    phases: () => received.filter((text) => text !== 'WATCHDOG=1' && !text.startsWith('STATUS=')),
    statuses: () => received.filter((text) => text.startsWith('STATUS=')).map((text) => text.slice(7)),
  };
}
