import t from 'tap';
import { createBus } from '../../src/bus/bus.js';

t.test('handlers get their type with an envelope naming sender, sequence and time', async (t) => {
  let now = 1000;
  const bus = createBus('daemon', () => now++);
  const seen: string[] = [];
  const off = bus.on('cmd.stop', (msg, env) => {
    seen.push(`${env.sender}#${env.seq}@${env.time} stop ${msg.requestId} ${msg.timeoutMs}`);
  });
  bus.publish({ type: 'cmd.status', requestId: 'a' });
  bus.publish({ type: 'cmd.stop', requestId: 'b', timeoutMs: 500 });
  off();
  bus.publish({ type: 'cmd.stop', requestId: 'c', timeoutMs: null });
  t.same(seen, ['daemon#2@1001 stop b 500']);
});

t.test('onAny sees every envelope with its origin; deliver keeps the envelope', async (t) => {
  const bus = createBus('master');
  const origins: unknown[] = [];
  bus.onAny((env, origin) => origins.push([env.sender, env.seq, origin]));
  bus.publish({ type: 'cmd.status', requestId: 'a' });
  const link = { name: 'a link' };
  bus.deliver({ seq: 41, time: 5, sender: 'cli', msg: { type: 'cmd.status', requestId: 'b' } }, link);
  t.same(origins, [['master', 1, undefined], ['cli', 41, link]]);
});
