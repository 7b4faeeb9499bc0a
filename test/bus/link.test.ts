import t from 'tap';
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
  const [a, b] = await socketPair();
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

t.test('a heartbeat drops a peer whose event loop hangs, and keeps one that answers', async (t) => {
  const [a, b] = await socketPair();
  const [c, d] = await socketPair();
  t.teardown(() => { for (const s of [a, b, c, d]) s.destroy(); });
  const daemon = createBus('daemon');
  const heartbeat = { intervalMs: 20, timeoutMs: 150, idleIntervalMs: 20 };
  const hung = createLink(daemon, a, { name: 'daemon', wants: [], heartbeat });
  b.write(encodeHello()); // greets, then never answers a ping
  const alive = createLink(daemon, c, { name: 'daemon', wants: [], heartbeat });
  createLink(createBus('peer'), d, { name: 'peer', wants: [] });
  t.equal((await hung.closed)?.code, 'LINK_PEER_UNRESPONSIVE');
  // What is asserted is a duration: the answering peer outlives two more silence limits.
  await new Promise((r) => setTimeout(r, 2 * heartbeat.timeoutMs));
  let aliveClosed = false;
  void alive.closed.then(() => { aliveClosed = true; });
  await new Promise((r) => setImmediate(r));
  t.notOk(aliveClosed, 'a peer that answers pings stays linked');
  alive.close();
});

/** A hand-written peer on a raw socket: greets, answers pings, and records when each came. */
function pingCounter(socket: net.Socket): { pings: number[]; send(msg: Envelope['msg']): void } {
  const pings: number[] = [];
  const send = (msg: Envelope['msg']) => socket.write(encodeFrame({ seq: 0, time: 0, sender: 'peer', msg }));
  const decoder = new FrameDecoder(1024 * 1024);
  socket.on('data', (chunk: Buffer) => decoder.feed(chunk, ({ msg }) => {
    if (msg.type !== 'link.ping') return;
    pings.push(Date.now());
    send({ type: 'link.pong', n: msg.n });
  }));
  send({ type: 'link.hello', name: 'peer', wants: ['*'] });
  return { pings, send };
}

t.test('the heartbeat pings a busy link often and an idle one seldom, and work wakes it at once', async (t) => {
  const [a, b] = await socketPair();
  t.teardown(() => { a.destroy(); b.destroy(); });
  const bus = createBus('daemon');
  const link = createLink(bus, a, { name: 'daemon', wants: ['*'], heartbeat: { intervalMs: 40, timeoutMs: 200, idleIntervalMs: 600 } });
  const peer = pingCounter(b);
  // Busy for twice timeoutMs after the hellos: a ping every 40 ms; then idle: every 600 ms.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const idle = peer.pings.filter((at, i) => i > 0 && at - peer.pings[i - 1]! > 400).length;
  t.ok(peer.pings.length >= 8 && peer.pings.length <= 15, `a few pings while busy, then one per idle interval (${peer.pings.length})`);
  t.ok(idle >= 1, 'idle gaps of the idle interval');
  // A frame from the peer is work: the next ping comes at the busy interval.
  const before = peer.pings.length;
  peer.send({ type: 'cmd.status', requestId: 'q' });
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.ok(peer.pings.length >= before + 1, 'pinged within the busy interval of the work');
  t.ok(link.answering(), 'a peer that answers is answering');
  link.close();
});

t.test('answering() on an idle link pings the peer at once, not at the next idle ping', async (t) => {
  const [a, b] = await socketPair();
  t.teardown(() => { a.destroy(); b.destroy(); });
  const link = createLink(createBus('daemon'), a, { name: 'daemon', wants: [], heartbeat: { intervalMs: 50, timeoutMs: 100, idleIntervalMs: 10_000 } });
  const peer = pingCounter(b);
  await new Promise((resolve) => setTimeout(resolve, 400)); // past twice timeoutMs: idle
  const before = peer.pings.length;
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(peer.pings.length, before, 'idle: no ping of its own');
  t.ok(link.answering());
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(peer.pings.length, before + 1, 'the one answering() sent');
  link.close();
});

t.test('answering(): pings a peer not heard from lately, and is false once that ping goes unanswered for intervalMs', async (t) => {
  const [a, b] = await socketPair();
  t.teardown(() => { a.destroy(); b.destroy(); });
  const link = createLink(createBus('daemon'), a, { name: 'daemon', wants: [], heartbeat: { intervalMs: 50, timeoutMs: 400, idleIntervalMs: 10_000 } });
  b.write(encodeHello()); // greets, then never answers a ping
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.ok(link.answering(), 'heard from at the hello: answering, and a ping goes out');
  await new Promise((resolve) => setTimeout(resolve, 70));
  t.notOk(link.answering(), 'that ping unanswered for intervalMs: not answering');
  t.equal((await link.closed)?.code, 'LINK_PEER_UNRESPONSIVE', 'and at timeoutMs the link closes');
  t.notOk(link.answering(), 'a closed link does not answer');
});

t.test('stir(): a ping to the peer at most once per stirEveryMs', async (t) => {
  const [a, b] = await socketPair();
  t.teardown(() => { a.destroy(); b.destroy(); });
  const peer = pingCounter(b);
  const link = createLink(createBus('master'), a, { name: 'master', wants: [], stirEveryMs: 100 });
  await new Promise((resolve) => setTimeout(resolve, 120));
  for (let i = 0; i < 50; i++) link.stir();
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.equal(peer.pings.length, 1, 'one ping for fifty stirs');
  await new Promise((resolve) => setTimeout(resolve, 120));
  link.stir();
  await waitFor('the next stir after stirEveryMs', () => peer.pings.length === 2);
  link.close();
});

t.test('a peer that stirs keeps the busy interval while it works, its pongs notwithstanding: hung then, it is found within the busy bound', async (t) => {
  const [a, b] = await socketPair();
  t.teardown(() => { a.destroy(); b.destroy(); });
  const heartbeat = { intervalMs: 50, timeoutMs: 100, idleIntervalMs: 10_000 };
  const daemon = createLink(createBus('daemon'), a, { name: 'daemon', wants: [], heartbeat });
  const master = createLink(createBus('master'), b, { name: 'master', wants: [], stirEveryMs: heartbeat.intervalMs });
  await new Promise((resolve) => setTimeout(resolve, 400)); // quiet: the daemon's end goes idle
  const working = setInterval(() => master.stir(), 5);
  await new Promise((resolve) => setTimeout(resolve, 400));
  clearInterval(working);
  b.pause(); // hung: nothing read, no pong
  const hungAt = Date.now();
  t.equal((await daemon.closed)?.code, 'LINK_PEER_UNRESPONSIVE');
  t.ok(Date.now() - hungAt < 1_000, `found in ${Date.now() - hungAt} ms, within the busy bound, not the idle interval`);
  master.close();
});

t.test('frames written while the peer does not read arrive whole and in order once it reads', async (t) => {
  const [a, b] = await socketPair();
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
  const [a, b] = await socketPair();
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

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const socketPath = path.join(os.tmpdir(), `naught-pair-${process.pid}-${Math.random()}.sock`);
  const server = net.createServer();
  server.listen(socketPath);
  await once(server, 'listening');
  const client = net.connect(socketPath);
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  server.close();
  return [accepted, client];
}

/** A peer that reads a link's frames as they come, without a link of its own. */
async function rawPeer(wants: string[]) {
  const [a, b] = await socketPair();
  const decoder = new FrameDecoder();
  const received: Envelope[] = [];
  b.on('data', (d: Buffer) => received.push(...decoder.push(d)));
  b.write(encodeFrame({ seq: 0, time: 0, sender: 'peer', msg: { type: 'link.hello', name: 'peer', wants } }));
  return { local: a, remote: b, received };
}

t.test("a link coalesces one event-loop turn's frames into one write, and forwards only what its peer asked for", async (t) => {
  const { local, remote, received } = await rawPeer(['pool.reply']);
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
  const [a, b] = await socketPair();
  t.teardown(() => { a.destroy(); b.destroy(); });
  const bus = createBus('daemon');
  const link = createLink(bus, a, { name: 'daemon', wants: [] });
  b.write(encodeFrame({ seq: 0, time: 0, sender: 'peer', msg: { type: 'link.hello', name: 'peer', wants: [] } }));
  b.write(encodeFrame({ seq: 1, time: 0, sender: 'peer', msg: { type: 'cmd.format-disk' } as unknown as MessageOf<'cmd.status'> }));
  const error = await link.closed;
  t.equal(error?.code, 'FRAME_UNKNOWN_TYPE');
  t.match(error?.message, /message type "cmd\.format-disk" is not in the catalogue/);
});
