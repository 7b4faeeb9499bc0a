// The control socket on an in-memory bus with real clients: owner-only, a reply goes to its
// asker and the followers alone, a broadcast to all that want it; after a hand-over a status
// is answered as the successor's; a closed socket leaves no path.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createBus, type Bus } from '../../src/bus/bus.js';
import { createLink, type Link } from '../../src/bus/link.js';
import type { Message, MessageType } from '../../src/bus/messages.js';
import { createControlSocketActor } from '../../src/actors/control-socket.js';

interface Client { bus: Bus; link: Link; got: Message[] }

async function connect(ipcFile: string, name: string, wants: (MessageType | '*')[]): Promise<Client> {
  const socket = net.connect(ipcFile);
  await once(socket, 'connect');
  const bus = createBus(name);
  const got: Message[] = [];
  const link = createLink(bus, socket, { name, wants });
  bus.onAny(({ msg }, origin) => { if (origin === link && !('requestId' in msg && msg.requestId.startsWith('sync-'))) got.push(msg); });
  await link.ready;
  return { bus, link, got };
}

/** A round trip through the daemon and back, so that everything either end sent before has arrived. */
async function settled(daemon: Bus, client: Client): Promise<void> {
  const requestId = `sync-${Math.random()}`;
  const off = daemon.on('cmd.history', (msg) => { if (msg.requestId === requestId) daemon.publish({ type: 'history.list', requestId, generations: [], current: null }); });
  const back = new Promise<void>((resolve) => { const offBack = client.bus.on('history.list', (msg) => { if (msg.requestId === requestId) { offBack(); resolve(); } }); });
  client.bus.publish({ type: 'cmd.history', requestId });
  await back;
  off();
}

t.test('replies to their asker and the followers; broadcasts to everyone who wants them', async (t) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-control-'));
  t.teardown(() => fs.rmSync(folder, { recursive: true, force: true }));
  const ipcFile = path.join(folder, 'run', 'naught.ipc');
  const daemon = createBus('daemon');
  const control = createControlSocketActor({ bus: daemon, ipcFile });
  await control.listen();
  t.teardown(() => { control.close(); control.disconnectClients(); });
  t.equal(fs.statSync(ipcFile).mode & 0o777, 0o600, 'only its owner may deploy or stop');

  const asker = await connect(ipcFile, 'asker', ['pool.reply', 'pool.event', 'history.list']);
  const other = await connect(ipcFile, 'other', ['pool.reply', 'pool.event', 'history.list']);
  const follower = await connect(ipcFile, 'follower', ['*']);
  let origin: unknown = null;
  daemon.on('cmd.status', (_msg, _envelope, from) => { origin = from; });
  asker.bus.publish({ type: 'cmd.status', requestId: 'q1' });
  await settled(daemon, asker);
  t.ok(control.clientOf(origin), 'a command\'s origin is a client');
  t.equal(control.clientOf('a plugin host'), null);

  daemon.publish({ type: 'pool.reply', requestId: 'q1', event: 'Status', waitingFor: null, count: { booting: 0, online: 2, dying: 0, new_online: 0 } });
  daemon.publish({ type: 'pool.event', event: 'Ready', waitingFor: null, count: { booting: 0, online: 2, dying: 0, new_online: 0 } });
  for (const client of [asker, other, follower]) await settled(daemon, client);
  const types = (client: Client) => client.got.map((msg) => msg.type);
  t.same(types(asker), ['pool.reply', 'pool.event']);
  t.same(types(other), ['pool.event'], 'another client\'s reply is not this one\'s');
  t.same(types(follower).filter((type) => type !== 'cmd.status'), ['pool.reply', 'pool.event']);

  const gone = control.askerGone('q1');
  asker.link.close();
  await gone;
  t.pass('the asker\'s going is known');

  control.handedOver((requestId) => [{ type: 'pool.reply', requestId, event: 'Status', waitingFor: null, count: { booting: 0, online: 4, dying: 0, new_online: 0 } }]);
  const heard: string[] = [];
  daemon.on('cmd.status', ({ requestId }) => heard.push(requestId));
  other.bus.publish({ type: 'cmd.status', requestId: 'q2' });
  await settled(daemon, other);
  t.same(heard, [], 'not this daemon\'s to answer any more');
  t.match(other.got.at(-1), { type: 'pool.reply', requestId: 'q2', count: { online: 4 } });

  const closing = [other.link.closed, follower.link.closed];
  control.close();
  t.notOk(fs.existsSync(ipcFile), 'the socket path goes');
  control.disconnectClients();
  await Promise.all(closing);
});

t.test('an ipc-file path too long for a unix socket is refused, not cut short', async (t) => {
  const control = createControlSocketActor({ bus: createBus('daemon'), ipcFile: `/tmp/${'x'.repeat(120)}/naught.ipc` });
  await t.rejects(control.listen(), { message: /^the ipc-file path \/tmp\/x+\/naught\.ipc is longer than the 10\d bytes a unix socket path may have$/ });
});
