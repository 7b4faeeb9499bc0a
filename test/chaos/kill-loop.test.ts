import t from 'tap';
import net from 'node:net';
import { fixture } from '../helpers/paths.js';
import { descendants, freePort, masterOf, readText, Sandbox, waitFor } from '../helpers/naught.js';
import { createBus } from '../../src/bus/bus.js';
import { createLink } from '../../src/bus/link.js';

/**
 * New-connection load from a client with no timeout of its own: the test measures how
 * long each connection takes to be answered or to end, so a hang cannot hide.
 */
function rawLoad(port: number, concurrency: number) {
  const settled: { ms: number; answered: boolean }[] = [];
  const pending = new Map<net.Socket, number>();
  let running = true;
  const once = () => new Promise<void>((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    pending.set(socket, started);
    let reply = '';
    socket.on('data', (d: Buffer) => { reply += d; });
    socket.on('error', () => {});
    socket.on('close', () => {
      pending.delete(socket);
      settled.push({ ms: Date.now() - started, answered: reply.startsWith('HTTP/1.1 200') });
      resolve();
    });
  });
  const loops = Array.from({ length: concurrency }, async () => { while (running) await once(); });
  return {
    /** Connections open for longer than ms, right now. */
    openLongerThan: (ms: number) => [...pending.values()].filter((at) => Date.now() - at > ms).length,
    async stop(graceMs: number) {
      running = false;
      await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, graceMs))]);
      const hung = pending.size;
      for (const socket of pending.keys()) socket.destroy();
      return { settled, hung };
    },
  };
}

t.test('a worker that served 1 s SIGKILLed every 700 ms under new-connection load: no client hangs, only in-flight requests fail, no back-off', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', fixture('hello-server.cjs')], { PORT: String(port) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  // When each worker came online, heard on the bus: only one that has served for more
  // than the 1 s that tells a kill from a crash loop is a victim, however slow the machine.
  const onlineSince = new Map<number, number>();
  const bus = createBus('observer');
  bus.on('worker.online', ({ pid }) => onlineSince.set(pid, Date.now()));
  const link = createLink(bus, net.connect(box.path('naught.ipc')), { name: 'observer', wants: ['worker.online'] });
  t.teardown(() => link.close());
  await link.ready;
  // The first two came online before this moment, at the latest.
  const now = Date.now();
  for (const pid of descendants(masterOf(box))) onlineSince.set(pid, now);
  const load = rawLoad(port, 4);
  let kills = 0;
  let slowest = 0;
  for (let i = 0; i < 14; i++) {
    await new Promise((r) => setTimeout(r, 700));
    slowest = Math.max(slowest, load.openLongerThan(1000));
    const victim = descendants(masterOf(box)).find((pid) => Date.now() - (onlineSince.get(pid) ?? Infinity) > 1_100);
    if (victim === undefined) continue;
    try {
      process.kill(victim, 'SIGKILL');
      kills++;
    } catch { /* it exited meanwhile */ }
  }
  const { settled, hung } = await load.stop(3000);
  const failed = settled.filter((s) => !s.answered);
  const late = settled.filter((s) => s.ms > 1000);
  t.comment(`${kills} kills: ${settled.length} connections, ${failed.length} ended unanswered, ${late.length} took over 1 s, slowest ${Math.max(...settled.map((s) => s.ms))} ms`);
  t.ok(kills >= 7, `${kills} workers killed`);
  t.ok(settled.length > 200, 'the load ran');
  t.equal(hung, 0, 'no connection was left hanging');
  t.equal(slowest, 0, 'no connection was ever open for more than 1 s');
  t.same(late, [], 'every connection was answered or ended within 1 s');
  // Each kill can cost at most the requests its worker held: 4 clients, one request each.
  t.ok(failed.length <= kills * 4, `unanswered (${failed.length}) within the killed workers' in-flight bound (${kills * 4})`);
  t.notMatch(readText(box.path('naught.log')), /crashed \d+ times in a row/, 'killed serving workers are not a crash loop');
  await waitFor('two workers online again', async () => (await box.naught(['status'])).stdout === 'workers online: 2\n');
});
