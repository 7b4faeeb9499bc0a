import t from 'tap';
import { formatEnvelope, timeBound, traceFilter, typeGlob } from '../../src/cli/trace.js';
import type { Envelope, Message } from '../../src/bus/messages.js';

process.env.TZ = 'UTC';
const at = Date.UTC(2026, 10, 25, 9, 30, 5, 42);
const envelope = (msg: Message, time = at, sender = 'master'): Envelope => ({ seq: 1, time, sender, msg });

t.test('one line per message: time, sender, type, then key=value', async (t) => {
  t.equal(
    formatEnvelope(envelope({ type: 'pool.event', event: 'Ready', waitingFor: null, count: { booting: 0, online: 2, dying: 0, new_online: 0 } })),
    '09:30:05.042  master → pool.event  event=Ready waitingFor=null count.booting=0 count.online=2 count.dying=0 count.new_online=0',
  );
  t.equal(
    formatEnvelope(envelope({ type: 'notice', code: 'MASTER_DIED', message: 'The master died.' }, at, 'daemon')),
    '09:30:05.042  daemon → notice  code=MASTER_DIED message="The master died."',
  );
  const env = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`K${i}`, 'v']));
  t.equal(
    formatEnvelope(envelope({ type: 'cmd.deploy', requestId: 'r1', workerCount: 0, env, cwd: null, timeoutMs: 1500 }, at, 'cli:7')),
    '09:30:05.042  cli:7 → cmd.deploy  requestId=r1 workerCount=0 env={9 keys} cwd=null timeoutMs=1500',
    'a big object is summarised; --json has it whole',
  );
  t.equal(formatEnvelope(envelope({ type: 'cmd.status', requestId: '' })), '09:30:05.042  master → cmd.status  requestId=""');
});

t.test('--type globs, with commas for alternatives', async (t) => {
  const glob = typeGlob('pool.*,worker.online');
  t.ok(glob.test('pool.event'));
  t.ok(glob.test('pool.reply'));
  t.ok(glob.test('worker.online'));
  t.notOk(glob.test('worker.offline'));
  t.notOk(glob.test('xpool.event'), 'anchored');
  t.ok(typeGlob('log.rotate?').test('log.rotated'));
  t.throws(() => typeGlob(' , '), { name: 'TraceUsageError' });
});

t.test('--since and --until: dates, epoch ms, or a time of day on the trace\'s first day', async (t) => {
  t.same(timeBound('--since', '1700000000000'), { at: 1700000000000 });
  t.same(timeBound('--since', '2026-11-25T09:30:05.000Z'), { at: Date.UTC(2026, 10, 25, 9, 30, 5) });
  t.same(timeBound('--since', '09:30'), { timeOfDayMs: (9 * 60 + 30) * 60_000 });
  t.same(timeBound('--until', '9:30:05.5'), { timeOfDayMs: ((9 * 60 + 30) * 60 + 5) * 1000 + 500 });
  t.throws(() => timeBound('--since', 'yesterday-ish'), { name: 'TraceUsageError' });
  t.throws(() => timeBound('--since', '25:00'), { name: 'TraceUsageError' });

  const keep = traceFilter({ types: null, since: timeBound('--since', '09:30:05'), until: timeBound('--until', '09:30:06') });
  const status = (time: number) => envelope({ type: 'cmd.status', requestId: 'r' }, time);
  t.same([at - 1000, at, at + 900, at + 2000].map((time) => keep(status(time))), [false, true, true, false]);
  const types = traceFilter({ types: typeGlob('notice'), since: null, until: null });
  t.notOk(types(status(at)));
});
