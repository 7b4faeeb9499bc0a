// `naught logs` on an in-memory bus: the latest lines go to the asker's link alone, in the
// order they were written; a follower gets each further line, and one that falls behind is
// sent nothing and told how many lines it missed once it has caught up.
import t from 'tap';
import { createBus } from '../../src/bus/bus.js';
import type { Link } from '../../src/bus/link.js';
import type { Message } from '../../src/bus/messages.js';
import { createLogFeedActor } from '../../src/actors/log-feed.js';
import { simulatedClock } from '../helpers/clock.js';

/** A client's link as the feed sees it: what it was sent, and how far behind its reader is. */
function clientLink() {
  const sent: Message[] = [];
  let close!: () => void;
  const link = { bufferedBytes: 0, tell: (msg: Message) => { sent.push(msg); }, closed: new Promise<null>((resolve) => { close = () => resolve(null); }) };
  const text = () => sent.map((msg) => (msg.type === 'logs.lines' ? `${msg.stream}: ${Buffer.from(msg.data).toString()}` : msg.type)).join('');
  return { link, sent, text, close };
}

function feedWith() {
  const bus = createBus('daemon');
  const sim = simulatedClock();
  const client = clientLink();
  const published: Message[] = [];
  bus.onAny(({ msg }) => { if (msg.type.startsWith('logs.')) published.push(msg); });
  const feed = createLogFeedActor({
    bus, clock: sim.clock, files: { stdout: '/srv/stdout.log', stderr: null },
    askerOf: (origin) => (origin === client.link ? client.link as unknown as Link : null),
  });
  const ask = (msg: Record<string, unknown>, origin: unknown = client.link) => {
    bus.deliver({ seq: 1, time: 0, sender: 'cli', msg: { type: 'cmd.logs', requestId: 'l1', lines: 0, streams: [], follow: false, ...msg } as Message }, origin);
  };
  const write = (stream: 'stdout' | 'stderr', ...lines: string[]) => feed.add(stream, lines.map((line) => Buffer.from(line + '\n')));
  return { bus, sim, client, published, feed, ask, write };
}

t.test('the last lines, in the order written, to the asker alone', async (t) => {
  const { client, published, feed, ask, write } = feedWith();
  t.teardown(() => feed.close());
  write('stdout', 'a1', 'a2');
  write('stderr', 'e1');
  write('stdout', 'a3');
  ask({ lines: 3 }, 'a plugin host');
  t.same([client.sent, published], [[], []], 'a command from anyone but a client is not answered');
  ask({ lines: 3 });
  t.equal(client.text(), 'stdout: a2\nstderr: e1\nstdout: a3\n');
  t.same(published, [{ type: 'logs.tailed', requestId: 'l1', files: { stdout: '/srv/stdout.log', stderr: null }, following: false }]);
  write('stdout', 'a4');
  t.equal(client.sent.length, 3, 'not following: nothing more');
});

t.test('a follower of stderr gets its further lines; one that falls behind is told what it missed', async (t) => {
  const { sim, client, published, feed, ask, write } = feedWith();
  t.teardown(() => feed.close());
  ask({ follow: true, streams: ['stderr'] });
  write('stdout', 'not for it');
  write('stderr', 'e1', 'e2');
  t.equal(client.text(), 'stderr: e1\ne2\n');
  client.link.bufferedBytes = 300 * 1024;
  write('stderr', 'x1', 'x2');
  write('stderr', 'x3');
  t.equal(client.sent.length, 1, 'nothing sent to a reader 300 KiB behind');
  sim.pass(100);
  t.same(published.filter((msg) => msg.type === 'logs.missed'), [], 'not told while still behind');
  client.link.bufferedBytes = 0;
  sim.pass(100);
  t.same(published.filter((msg) => msg.type === 'logs.missed'), [{ type: 'logs.missed', requestId: 'l1', lines: 3 }], 'told once caught up, though nothing new came');
  write('stderr', 'e3');
  t.equal(client.text(), 'stderr: e1\ne2\nstderr: e3\n');
  client.link.bufferedBytes = 300 * 1024;
  write('stderr', 'y1');
  feed.close();
  t.same(published.filter((msg) => msg.type === 'logs.missed').map((msg) => (msg as { lines: number }).lines), [3, 1], 'and at the close');
});

t.test('a follower that goes away is sent nothing more', async (t) => {
  const { client, feed, ask, write } = feedWith();
  t.teardown(() => feed.close());
  ask({ follow: true });
  client.close();
  await client.link.closed;
  write('stdout', 'after');
  t.same(client.sent, []);
});
