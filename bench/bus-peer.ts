// The far end of bench/bus.ts: answers each request at once, over our link or over process.send.
import { createBus } from '../src/bus/bus.js';
import { openParentPipe } from '../src/bus/fd3.js';
import { createLink } from '../src/bus/link.js';

const count = { booting: 0, online: 2, dying: 0, new_online: 0 };

if (process.argv[2] === 'bus') {
  const bus = createBus('peer');
  const link = createLink(bus, openParentPipe(), { name: 'peer', wants: ['cmd.status', 'worker.online'] });
  let received = 0;
  bus.on('cmd.status', ({ requestId }) => {
    bus.publish({ type: 'pool.reply', requestId, event: 'Status', waitingFor: null, count });
  });
  // One-way stream: count silently, answer once with the total.
  bus.on('worker.online', ({ workerId }) => {
    received++;
    if (workerId !== -1) return;
    bus.publish({ type: 'pool.reply', requestId: String(received), event: 'Status', waitingFor: null, count });
    received = 0;
  });
  void link.closed.then(() => process.exit(0));
} else {
  let received = 0;
  process.on('message', (msg: { type: string; requestId: string; workerId: number }) => {
    if (msg.type === 'cmd.status') {
      process.send!({ type: 'pool.reply', requestId: msg.requestId, event: 'Status', waitingFor: null, count });
    } else {
      received++;
      if (msg.workerId !== -1) return;
      process.send!({ type: 'pool.reply', requestId: String(received), event: 'Status', waitingFor: null, count });
      received = 0;
    }
  });
  process.on('disconnect', () => process.exit(0));
}
