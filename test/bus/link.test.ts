import t, { type Test } from 'tap';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createBus, type Bus } from '../../src/bus/bus.js';
import { encodeFrame, FrameDecoder } from '../../src/bus/codec.js';
import { waitFor } from '../helpers/naught.js';
import { spawnWithPipe } from '../../src/bus/fd3.js';
import { createLink, type Link } from '../../src/bus/link.js';
import type { Envelope, MessageOf } from '../../src/bus/messages.js';
import { compiledFixture } from '../helpers/paths.js';
import { simulatedClock } from '../helpers/clock.js';
import { socketPair } from '../helpers/socket-pair.js';

function nextReply(bus: Bus): Promise<MessageOf<'pool.reply'>> {
  return new Promise((resolve) => {
    const off = bus.on('pool.reply', (msg) => { off(); resolve(msg); });
  });
}

function stopChild(child: import('node:child_process').ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

t.test('a link to a real child over fd 3 carries commands and replies', async (t) => {
  const { child, pipe } = spawnWithPipe([compiledFixture('link-echo-child.js')], {});
  t.teardown(() => stopChild(child));
  const bus = createBus('parent');
  const link = createLink(bus, pipe, { name: 'parent', wants: ['pool.reply'] });
  const replies = [nextReply(bus)];
  bus.publish({ type: 'cmd.status', requestId: 'q1' });
  const first = await replies[0]!;
  t.equal(first.requestId, 'q1');
  t.equal(link.peerName, 'child');

  // A burst: all of it arrives, in order.
  const got: string[] = [];
  const off = bus.on('pool.reply', (msg) => got.push(msg.requestId));
  for (let i = 0; i < 1000; i++) bus.publish({ type: 'cmd.status', requestId: `b${i}` });
  await waitFor('the whole burst', () => got.length >= 1000);
  off();
  t.same(got, Array.from({ length: 1000 }, (_, i) => `b${i}`));
  link.close();
  t.equal(await link.closed, null);
  await once(child, 'exit');
});

t.test('a peer that dies mid-frame closes the link with a clear error', async (t) => {
  const { child, pipe } = spawnWithPipe([compiledFixture('link-echo-child.js'), 'cut-mid-frame'], {});
  t.teardown(() => stopChild(child));
  const bus = createBus('parent');
  const delivered: string[] = [];
  bus.on('cmd.status', (msg) => delivered.push(msg.requestId));
  const link = createLink(bus, pipe, { name: 'parent', wants: ['*'] });
  const error = await link.closed;
  t.equal(error?.code, 'LINK_PEER_CUT_MID_FRAME');
  t.match(error?.message, /closed the stream in the middle of a frame/);
  t.same(delivered, []);
});

t.test('over a unix socket, a bad peer is dropped and a good one keeps working', async (t) => {
  const socketPath = path.join(os.tmpdir(), `naught-link-${process.pid}.sock`);
  const serverBus = createBus('daemon');
  serverBus.on('cmd.status', (msg) => {
    serverBus.publish({ type: 'pool.reply', requestId: msg.requestId, event: 'Status', waitingFor: null, count: { booting: 0, online: 2, dying: 0, new_online: 0 } });
  });
  const serverLinks: Link[] = [];
  const server = net.createServer((socket) => {
    serverLinks.push(createLink(serverBus, socket, { name: 'daemon', wants: ['cmd.status'] }));
  });
  server.listen(socketPath);
  await once(server, 'listening');
  t.teardown(() => server.close());

  const goodBus = createBus('good');
  const good = createLink(goodBus, net.connect(socketPath), { name: 'good', wants: ['pool.reply'] });
  t.equal((await Promise.all([nextReply(goodBus), goodBus.publish({ type: 'cmd.status', requestId: 'g1' })]))[0].requestId, 'g1');

  const bad = net.connect(socketPath);
  await once(bad, 'connect');
  bad.resume();
  bad.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
  await once(bad, 'close');
  const badLink = serverLinks[1]!;
  t.equal((await badLink.closed)?.code, 'FRAME_NOT_MSGPACK');

  const oversized = net.connect(socketPath);
  oversized.resume();
  oversized.write(Buffer.from([0x7f, 0, 0, 0]));
  await once(oversized, 'close');
  t.equal((await serverLinks[2]!.closed)?.code, 'FRAME_TOO_LARGE');

  const reply = nextReply(goodBus);
  goodBus.publish({ type: 'cmd.status', requestId: 'g2' });
  t.equal((await reply).requestId, 'g2', 'the good link still works after the bad ones were dropped');
  good.close();
  await good.closed;
});

t.test('a peer that stops reading is dropped once the bound is passed', async (t) => {
  const { server: a, client: b } = await socketPair(t);
  t.teardown(() => { a.destroy(); b.destroy(); });
  const bus = createBus('daemon');
  const link = createLink(bus, a, { name: 'daemon', wants: [], maxBufferedBytes: 64 * 1024 });
  b.write(encodeHello());
  b.pause();
  await link.ready;
  let dropped = false;
  void link.closed.then(() => { dropped = true; });
  for (let i = 0; i < 20000 && !dropped; i++) {
    link.send({ seq: i, time: 0, sender: 'daemon', msg: { type: 'notice', code: 'LINK_CLOSED', message: 'x'.repeat(100) } });
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  t.equal((await link.closed)?.code, 'LINK_PEER_TOO_SLOW');
});

/**
 * A hand-written peer on a raw socket: greets, records each ping with the simulated time it
 * was sent at, and, while `answering`, sends the pong and then a notice, so that the link's
 * bus seeing the notice means the link has taken the pong.
 */
function pingedPeer(socket: net.Socket, clock: { now(): number }) {
  const pings: { n: number; at: number }[] = [];
  let waiting: (() => void) | null = null;
  const peer = { pings, answering: true, markers: 0, nextPing: (count: number) => new Promise<void>((resolve) => {
    waiting = () => { if (pings.length >= count) resolve(); };
    waiting();
  }) };
  const send = (msg: Envelope['msg']) => socket.write(encodeFrame({ seq: 0, time: 0, sender: 'peer', msg }));
  const decoder = new FrameDecoder(1024 * 1024);
  socket.on('data', (chunk: Buffer) => decoder.feed(chunk, ({ msg }) => {
    if (msg.type === 'notice') peer.markers++;
    if (msg.type !== 'link.ping') return waiting?.();
    pings.push({ n: msg.n, at: clock.now() });
    if (peer.answering) {
      send({ type: 'link.pong', n: msg.n });
      send({ type: 'notice', code: 'LINK_CLOSED', message: `pong ${msg.n} sent` });
    }
    waiting?.();
  }));
  send({ type: 'link.hello', name: 'peer', wants: ['*'] });
  return peer;
}

const nextNotice = (bus: Bus) => new Promise<void>((resolve) => { const off = bus.on('notice', () => { off(); resolve(); }); });
/** Lets a settled promise's callbacks run: a link closed by a timer has said so after this. */
const flushed = () => new Promise((resolve) => setImmediate(resolve));

t.test('a link pings as its heartbeat says: an answered ping keeps it, an unanswered one closes it exactly timeoutMs later', async (t) => {
  const { server: a, client: b } = await socketPair(t);
  t.teardown(() => { a.destroy(); b.destroy(); });
  const sim = simulatedClock();
  const bus = createBus('daemon');
  const link = createLink(bus, a, { name: 'daemon', wants: [], heartbeat: { intervalMs: 100, timeoutMs: 500, idleIntervalMs: 1_000 }, clock: sim.clock });
  let closedAt: number | null = null;
  void link.closed.then(() => { closedAt = sim.clock.now(); });
  const peer = pingedPeer(b, sim.clock);
  await link.ready;
  sim.pass(100);
  const answered = nextNotice(bus);
  await peer.nextPing(1);
  await answered;
  t.same(peer.pings, [{ n: 1, at: 100 }]);
  peer.answering = false;
  sim.pass(100);
  await peer.nextPing(2);
  t.same(peer.pings[1], { n: 2, at: 200 }, 'the next an interval after the pong');
  sim.pass(499);
  await flushed();
  t.equal(closedAt, null);
  t.equal(link.answering(), false, 'unanswered for over intervalMs: not answering');
  sim.pass(1);
  t.equal((await link.closed)?.code, 'LINK_PEER_UNRESPONSIVE');
  t.equal(closedAt, 700);
});

t.test('stir(): a ping to the peer at most once per stirEveryMs', async (t) => {
  const { server: a, client: b } = await socketPair(t);
  t.teardown(() => { a.destroy(); b.destroy(); });
  const sim = simulatedClock();
  const link = createLink(createBus('master'), a, { name: 'master', wants: ['notice'], stirEveryMs: 100, clock: sim.clock });
  const peer = pingedPeer(b, sim.clock);
  peer.answering = false;
  await link.ready;
  const marked = async (count: number) => {
    link.send({ seq: 0, time: 0, sender: 'master', msg: { type: 'notice', code: 'LINK_CLOSED', message: 'marker' } });
    await waitFor('the marker', () => peer.markers >= count);
  };
  for (let i = 0; i < 50; i++) link.stir();
  await marked(1);
  t.same(peer.pings.map(({ at }) => at), [0], 'one ping for fifty stirs');
  sim.pass(99);
  link.stir();
  await marked(2);
  t.equal(peer.pings.length, 1, 'none before stirEveryMs');
  sim.pass(1);
  link.stir();
  await marked(3);
  t.same(peer.pings.map(({ at }) => at), [0, 100]);
  link.close();
});

t.test('frames written while the peer does not read arrive whole and in order once it reads', async (t) => {
  const { server: a, client: b } = await socketPair(t);
  t.teardown(() => { a.destroy(); b.destroy(); });
  const sender = createBus('daemon');
  const link = createLink(sender, a, { name: 'daemon', wants: [] });
  b.pause(); // the peer's link below does not read until resumed
  const peer = createBus('peer');
  const got: string[] = [];
  peer.on('cmd.status', ({ requestId }) => got.push(requestId));
  createLink(peer, b, { name: 'peer', wants: ['cmd.status'] });
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Many batches, one per turn, more than the socket holds: writes stay queued in the stream.
  const total = 20 * 500;
  for (let turn = 0; turn < 20; turn++) {
    for (let i = 0; i < 500; i++) sender.publish({ type: 'cmd.status', requestId: `r${turn * 500 + i}` });
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.ok(a.writableLength > 0, `the stream holds ${a.writableLength} bytes the peer has not read`);
  b.resume();
  await waitFor('every frame', () => got.length >= total);
  t.same(got, Array.from({ length: total }, (_, i) => `r${i}`));
  link.close();
});

t.test('admit refuses what a peer may not publish, and the link stays up', async (t) => {
  const { server: a, client: b } = await socketPair(t);
  t.teardown(() => { a.destroy(); b.destroy(); });
  const daemon = createBus('daemon');
  const refused: string[] = [];
  const delivered: string[] = [];
  daemon.onAny(({ msg }) => delivered.push(msg.type));
  const link = createLink(daemon, a, {
    name: 'daemon', wants: ['*'], admit: ({ msg }) => msg.type === 'cmd.status', onRefused: ({ msg }) => refused.push(msg.type),
  });
  const plugin = createBus('plugin');
  createLink(plugin, b, { name: 'plugin', wants: [] });
  plugin.publish({ type: 'cmd.stop', requestId: 's', timeoutMs: null });
  plugin.publish({ type: 'cmd.status', requestId: 'q' });
  await waitFor('the admitted command', () => delivered.length > 0);
  t.same(delivered, ['cmd.status']);
  t.same(refused, ['cmd.stop']);
  link.close();
});

function encodeHello(): Buffer {
  // A peer that greets and then never reads again.
  return encodeFrame({ seq: 0, time: 0, sender: 'slow', msg: { type: 'link.hello', name: 'slow', wants: ['*'] } });
}

/** A peer that reads a link's frames as they come, without a link of its own. */
async function rawPeer(t: Test, wants: string[]) {
  const { server: a, client: b } = await socketPair(t);
  const decoder = new FrameDecoder();
  const received: Envelope[] = [];
  b.on('data', (d: Buffer) => received.push(...decoder.push(d)));
  b.write(encodeFrame({ seq: 0, time: 0, sender: 'peer', msg: { type: 'link.hello', name: 'peer', wants } }));
  return { local: a, remote: b, received };
}

t.test("a link coalesces one event-loop turn's frames into one write, and forwards only what its peer asked for", async (t) => {
  const { local, remote, received } = await rawPeer(t, ['pool.reply']);
  t.teardown(() => { local.destroy(); remote.destroy(); });
  const bus = createBus('daemon');
  const link = createLink(bus, local, { name: 'daemon', wants: [] });
  await link.ready;
  await waitFor("the link's hello", () => received.length > 0);
  received.length = 0;
  const writes: number[] = [];
  const write = local.write.bind(local);
  local.write = ((data: Buffer, ...rest: never[]) => { writes.push(data.length); return write(data, ...rest); }) as typeof local.write;
  for (let i = 0; i < 50; i++) {
    bus.publish({ type: 'pool.reply', requestId: `r${i}`, event: 'Status', waitingFor: null, count: { booting: 0, online: 1, dying: 0, new_online: 0 } });
    bus.publish({ type: 'notice', code: 'PLUGIN_LOG', message: 'not asked for' });
  }
  await waitFor('the replies to arrive', () => received.length >= 50);
  t.equal(writes.length, 1, 'fifty frames of one turn, one write');
  t.equal(received.length, 50);
  t.ok(received.every(({ msg }) => msg.type === 'pool.reply'), 'no notice: the peer did not ask for it');
  link.close();
});

t.test('a link closes itself on a message type outside the catalogue, and its process goes on', async (t) => {
  const { server: a, client: b } = await socketPair(t);
  t.teardown(() => { a.destroy(); b.destroy(); });
  const bus = createBus('daemon');
  const link = createLink(bus, a, { name: 'daemon', wants: [] });
  b.write(encodeFrame({ seq: 0, time: 0, sender: 'peer', msg: { type: 'link.hello', name: 'peer', wants: [] } }));
  b.write(encodeFrame({ seq: 1, time: 0, sender: 'peer', msg: { type: 'cmd.format-disk' } as unknown as MessageOf<'cmd.status'> }));
  const error = await link.closed;
  t.equal(error?.code, 'FRAME_UNKNOWN_TYPE');
  t.match(error?.message, /message type "cmd\.format-disk" is not in the catalogue/);
});
