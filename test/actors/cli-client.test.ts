// The CLI's end on a real socket pair, with the daemon's end a link on a bus: every message
// from the daemon goes to the renderer until it decides; a decision on close waits for the
// daemon to close; a daemon gone first is the command's failure.
import t, { type Test } from 'tap';
import { createBus } from '../../src/bus/bus.js';
import { createLink } from '../../src/bus/link.js';
import { CONTROL_COMMANDS, type Message } from '../../src/bus/messages.js';
import { createCliClientActor, type Verdict } from '../../src/actors/cli-client.js';
import { socketPair } from '../helpers/socket-pair.js';

const event = (event: 'Status' | 'Shutdown') => ({ event, waitingFor: null, count: { booting: 0, online: 1, dying: 0, new_online: 0 } });

async function talking(t: Test, render: (msg: Message) => Verdict) {
  const { client, server } = await socketPair(t);
  const daemon = createBus('daemon');
  const asked: Message[] = [];
  daemon.onAny(({ msg }) => { if (msg.type.startsWith('cmd.')) asked.push(msg); });
  const daemonLink = createLink(daemon, server, { name: 'daemon', wants: CONTROL_COMMANDS });
  const cli = createCliClientActor(client, render, () => 9);
  await Promise.all([cli.link.ready, daemonLink.ready]);
  return { daemon, daemonLink, cli, asked };
}

t.test('the renderer sees what the daemon sends until it returns a status', async (t) => {
  const seen: string[] = [];
  const { daemon, cli, asked } = await talking(t, (msg) => {
    seen.push(msg.type);
    return msg.type === 'pool.reply' ? 0 : undefined;
  });
  cli.bus.publish({ type: 'cmd.status', requestId: 'q1' });
  await new Promise<void>((resolve) => { const off = daemon.on('cmd.status', () => { off(); resolve(); }); });
  t.same(asked, [{ type: 'cmd.status', requestId: 'q1' }]);
  daemon.publish({ type: 'plugin.list', requestId: 'q1', plugins: [] });
  daemon.publish({ type: 'pool.reply', requestId: 'q1', ...event('Status') });
  daemon.publish({ type: 'notice', code: 'UPGRADE', message: 'after the decision' });
  t.equal(await cli.outcome, 0);
  t.same(seen, ['plugin.list', 'pool.reply'], 'nothing after the decision');
  t.equal(await cli.link.closed, null, 'the client closed its end');
});

t.test('a decision for when the daemon closes waits for the close (a stop after Shutdown)', async (t) => {
  let sawShutdown!: () => void;
  const shutdownSeen = new Promise<void>((resolve) => { sawShutdown = resolve; });
  const { daemon, daemonLink, cli } = await talking(t, (msg) => {
    if (msg.type !== 'pool.event' || msg.event !== 'Shutdown') return undefined;
    sawShutdown();
    return { whenClosed: 0 };
  });
  let settled = false;
  void cli.outcome.then(() => { settled = true; });
  daemon.publish({ type: 'pool.event', ...event('Shutdown') });
  await shutdownSeen;
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(settled, false, 'still waiting for the daemon to finish');
  daemonLink.close();
  t.equal(await cli.outcome, 0);
});

t.test('a daemon that goes away before any decision: the command\'s own failure status', async (t) => {
  const { daemonLink, cli } = await talking(t, () => undefined);
  daemonLink.close();
  t.equal(await cli.outcome, 9);
});
