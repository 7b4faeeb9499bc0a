// naught.log's writer on an in-memory bus: one line per pool event and reply, in naught 1.6's
// form, each notice as its sentence, and nothing else.
import t from 'tap';
import { createBus } from '../../src/bus/bus.js';
import { createEventLogActor } from '../../src/actors/event-log.js';

const count = { booting: 0, online: 2, dying: 0, new_online: 0 };

t.test('pool events, replies and notices become lines; every other message none', async (t) => {
  const bus = createBus('daemon');
  const lines: string[] = [];
  const stop = createEventLogActor({ bus, sink: { write: (text: string) => lines.push(text) } });
  bus.publish({ type: 'pool.event', event: 'Ready', waitingFor: null, count });
  bus.publish({ type: 'pool.reply', requestId: 'r1', event: 'Status', waitingFor: null, count });
  bus.publish({ type: 'notice', code: 'MASTER_DIED', message: 'The master process 42 died (signal SIGKILL); starting a new master.' });
  bus.publish({ type: 'cmd.status', requestId: 'r2' });
  bus.publish({ type: 'worker.offline', workerId: 1, slot: 0, pid: 7 });
  t.same(lines, [
    'Ready. booting: 0, online: 2, dying: 0, new_online: 0\n',
    'Status. booting: 0, online: 2, dying: 0, new_online: 0\n',
    'The master process 42 died (signal SIGKILL); starting a new master.\n',
  ]);
  stop();
  bus.publish({ type: 'pool.event', event: 'Shutdown', waitingFor: null, count });
  t.equal(lines.length, 3, 'stopped: nothing more is written');
});
