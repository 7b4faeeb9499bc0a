import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { execFile, spawn } from 'node:child_process';
import { compiledFixture, fixture, naughtBin } from '../helpers/paths.js';
import { freePort, isAlive, readText, Sandbox, waitFor } from '../helpers/naught.js';
import { encodeFrame } from '../../src/bus/codec.js';
import type { Message } from '../../src/bus/messages.js';

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const hello = (name: string, wants: string[]) => encodeFrame({ seq: 0, time: 0, sender: name, msg: { type: 'link.hello', name, wants } });
const frame = (msg: Message) => encodeFrame({ seq: 1, time: 0, sender: 'abuser', msg });

/** A well-behaved client in a process of its own, asking for the status every 20 ms. */
function statusProbe(ipcFile: string) {
  const child = spawn(process.execPath, [compiledFixture('status-probe.js'), ipcFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    async stop(): Promise<{ latencies: number[]; unanswered: number }> {
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(out) as { latencies: number[]; unanswered: number };
    },
  };
}

const p99 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.99) - 1] ?? NaN;

t.test('abuse of the control socket: the daemon stays up, bounded, and other clients keep their answers', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', fixture('hello-server.cjs')], { PORT: String(port) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const daemon = box.daemonPid()!;
  const ipc = box.path('naught.ipc');
  const rssBefore = rssMiB(daemon);
  const probes: ReturnType<typeof statusProbe>[] = [];
  t.teardown(() => { for (const probe of probes) try { process.kill(probe.pid, 'SIGKILL'); } catch { /* gone */ } });
  const startProbe = () => probes[probes.push(statusProbe(ipc)) - 1]!;
  const sustained = startProbe();
  const abusers: net.Socket[] = [];
  t.teardown(() => { for (const socket of abusers) socket.destroy(); });
  const open = () => {
    const socket = net.connect(ipc);
    socket.on('error', () => {});
    abusers.push(socket);
    return socket;
  };

  // Random bytes, and a frame that claims 4 GiB.
  for (let i = 0; i < 20; i++) open().write(crypto.randomBytes(64 * 1024));
  const huge = Buffer.alloc(8);
  huge.writeUInt32BE(0xffffffff, 0);
  for (let i = 0; i < 20; i++) open().write(huge);
  // Clients that ask for everything and never read, while the status flood makes events.
  for (let i = 0; i < 20; i++) open().write(hello(`trace:stalled-${i}`, ['*']));
  for (const socket of abusers.slice(-20)) socket.pause();
  // Slowloris: one byte per second of a hello.
  const slow = Array.from({ length: 20 }, () => ({ socket: open(), bytes: hello('slow', ['*']), at: 0 }));
  const drip = setInterval(() => { for (const s of slow) if (s.at < s.bytes.length) s.socket.write(s.bytes.subarray(s.at, ++s.at)); }, 1000);
  t.teardown(() => clearInterval(drip));
  // Half-closed: a status request, then the client's end.
  for (let i = 0; i < 20; i++) open().end(Buffer.concat([hello('half', ['pool.reply']), frame({ type: 'cmd.status', requestId: `half-${i}` })]));

  await new Promise((r) => setTimeout(r, 3000));
  const duringAbuse = await sustained.stop();

  // 1,000 clients asking for the status at once.
  const burst = startProbe();
  await new Promise((r) => setTimeout(r, 200));
  const burstStarted = performance.now();
  const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => new Promise<boolean>((resolve) => {
    const socket = open();
    socket.write(Buffer.concat([hello(`many-${i}`, ['pool.reply']), frame({ type: 'cmd.status', requestId: `many-${i}` })]));
    let got = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.includes(`many-${i}`)) {
        resolve(true);
        socket.destroy();
      }
    });
    socket.on('close', () => resolve(false));
  })));
  const burstMs = performance.now() - burstStarted;
  t.equal(replies.filter(Boolean).length, 1000, 'each of 1,000 concurrent status clients got its answer');
  await new Promise((r) => setTimeout(r, 500));
  const duringBurst = await burst.stop();
  const rssAfter = rssMiB(daemon);
  t.comment(`status p99: ${p99(duringAbuse.latencies).toFixed(1)} ms under the lasting abuse (${duringAbuse.latencies.length} requests), `
    + `${p99(duringBurst.latencies).toFixed(1)} ms around the burst of 1,000 clients, all answered in ${burstMs.toFixed(0)} ms; daemon RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MiB`);
  for (const [when, measured] of [['under the lasting abuse', duringAbuse], ['around the burst', duringBurst]] as const) {
    t.ok(measured.latencies.length > 20, `the probe kept getting answers ${when}`);
    t.ok(measured.unanswered <= 1, `no status request went unanswered ${when}`);
  }
  // While 1,000 are open, a link, its msgpack state and buffers each: about 60 KiB on Node 20,
  // 95-145 KiB on 22 and 24 (measured +94 to +142 MiB). A leak would not stop at a bound.
  t.ok(rssAfter - rssBefore < 192, `daemon RSS stayed bounded (+${(rssAfter - rssBefore).toFixed(0)} MiB)`);
  t.ok(isAlive(daemon), 'the daemon is up');
  const naughtLog = readText(box.path('naught.log'));
  t.match(naughtLog, /Dropped a control connection: link from peer: frame of 4294967295 bytes exceeds the limit of 1048576/);
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
  t.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200, 'the workers serve');
});

t.test('ulimit -n 64 for the daemon: connections past the limit are closed at once, the client says so, and the daemon carries on', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" "${naughtBin}" start "${fixture('hello-server.cjs')}"`], { cwd: box.dir, env: { ...process.env, PORT: String(port) } },
      (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }));
  });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const daemon = box.daemonPid()!;
  t.equal(/Max open files\s+(\d+)/.exec(fs.readFileSync(`/proc/${daemon}/limits`, 'utf8'))?.[1], '64');
  const held: net.Socket[] = [];
  t.teardown(() => { for (const socket of held) socket.destroy(); });
  for (let i = 0; i < 100; i++) {
    const socket = net.connect(box.path('naught.ipc'));
    socket.on('error', () => {});
    socket.write(hello(`held-${i}`, []));
    held.push(socket);
  }
  // libuv accepts what the table has no room for and closes it at once: the client is told.
  await waitFor('the table to be full', () => held.filter((socket) => !socket.destroyed && !socket.closed).length < 100);
  t.same(await box.naught(['status']), { code: 1, stdout: '', stderr: 'the daemon closed the connection before answering\n' }, 'a client past the limit gets a clear error');
  t.ok(isAlive(daemon), 'the daemon is up');
  for (const socket of held) socket.destroy();
  await waitFor('status to answer again', async () => (await box.naught(['status'])).stdout === 'workers online: 1\n');
  t.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);
});
