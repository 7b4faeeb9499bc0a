// README promises that had no test of their own.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fixture } from '../helpers/paths.js';
import { descendants, freePort, isAlive, masterOf, readText, Sandbox, waitFor } from '../helpers/naught.js';
import { createBus } from '../../src/bus/bus.js';
import { createLink } from '../../src/bus/link.js';
import type { MessageOf } from '../../src/bus/messages.js';

const log = (box: Sandbox) => readText(box.path('naught.log'));

t.test('deploy --worker-count auto runs one worker per CPU', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.equal((await box.naught(['deploy', '--worker-count', 'auto'])).code, 0);
  t.same(await box.naught(['status']), { code: 0, stdout: `workers online: ${os.cpus().length}\n`, stderr: '' });
});

t.test('foreground: SIGINT to naught alone stops the workers and exits 0', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const cli = box.spawn(['start', '--daemon-mode', 'false', '--worker-count', '2', fixture('hello-server.cjs')], { PORT: String(port) });
  await waitFor('the workers to serve', () => fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false));
  const workers = descendants(cli.pid!);
  cli.kill('SIGINT');
  const result = await cli.exited;
  t.equal(result.code, 0);
  await waitFor('every worker to be gone', () => workers.every((pid) => !isAlive(pid)));
});

t.test('reopen-logs reopens stderr.log and naught.log too', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', fixture('writes-steadily.cjs')], { PORT: String(port), TO_STDERR: '1' })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('lines in stderr.log', () => readText(box.path('stderr.log')).length > 0);
  for (const name of ['stderr.log', 'naught.log']) fs.renameSync(box.path(name), box.path(`${name}.1`));
  t.equal((await box.naught(['reopen-logs'])).code, 0);
  await waitFor('new lines in a new stderr.log', () => readText(box.path('stderr.log')).length > 0);
  t.equal((await box.naught(['status'])).code, 0);
  await waitFor('the status in a new naught.log', () => log(box).includes('Status. '));
});

t.test('a moved log is noticed within a second and recreated', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', fixture('writes-steadily.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('lines in stdout.log', () => readText(box.path('stdout.log')).length > 0);
  const movedAt = Date.now();
  fs.renameSync(box.path('stdout.log'), box.path('stdout.log.1'));
  await waitFor('the move to be noticed', () => log(box).includes(`${box.path('stdout.log')} was moved or deleted; reopened it.`));
  const took = Date.now() - movedAt;
  // The kernel tells at once (inotify); the poll (every 5 s) is only where it cannot.
  t.ok(took < 2_000, `noticed in ${took} ms`);
  await waitFor('lines in the new file', () => readText(box.path('stdout.log')).length > 0);
});

t.test('repeated master deaths back off, and back-off notices reach connected clients', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  // A client on the control socket that asked for notices.
  const bus = createBus('listener');
  const notices: MessageOf<'notice'>[] = [];
  bus.on('notice', (notice) => notices.push(notice));
  const link = createLink(bus, net.connect(box.path('naught.ipc')), { name: 'listener', wants: ['notice'] });
  t.teardown(() => link.close());
  await link.ready;
  const first = masterOf(box);
  process.kill(first, 'SIGKILL');
  await waitFor('a new master', () => { const m = masterOf(box); return m !== undefined && m !== first && log(box).includes(`The master process ${first} died`); });
  const second = masterOf(box);
  process.kill(second, 'SIGKILL');
  await waitFor('the second notice', () => notices.some((n) => n.message.includes(`${second} died`)));
  t.same(notices.filter((n) => n.code === 'MASTER_DIED').map((n) => n.message), [
    `The master process ${first} died (signal SIGKILL); starting a new master.`,
    `The master process ${second} died (signal SIGKILL); starting a new master in 100 ms.`,
  ], 'the second death within a minute waits, and the client heard both');
  await waitFor('the workers back', async () => (await box.naught(['status'])).stdout === 'workers online: 1\n', 15_000);
});

t.test('a worker back-off notice reaches a connected client', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', fixture('crash-after-online.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const bus = createBus('listener');
  const notices: string[] = [];
  bus.on('notice', ({ code, message }) => { if (code === 'WORKER_BACKOFF') notices.push(message); });
  const link = createLink(bus, net.connect(box.path('naught.ipc')), { name: 'listener', wants: ['notice'] });
  t.teardown(() => link.close());
  await waitFor('a back-off notice', () => notices.length > 0, 15_000);
  t.match(notices[0], /^Worker 0 crashed \d+ times in a row; restarting it in \d+ ms\.$/);
});

t.test('the compressor exits 5 s after its last file', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--max-log-size', '2000', fixture('writes-steadily.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const daemon = box.daemonPid()!;
  const compressorOf = () => descendants(daemon).find((pid) => readText(`/proc/${pid}/cmdline`).includes('bin/compressor.js'));
  const compressor = await waitFor('the compressor', () => compressorOf(), 15_000);
  // Stop the output: the last rotation's archive is the compressor's last file.
  const master = masterOf(box);
  for (const worker of descendants(master)) process.kill(worker, 'SIGSTOP');
  t.teardown(() => { for (const worker of descendants(master)) try { process.kill(worker, 'SIGCONT'); } catch { /* gone */ } });
  const archives = () => fs.readdirSync(box.dir).filter((f) => f.endsWith('.gz')).length;
  let count = archives();
  let lastAt = Date.now();
  await waitFor('the compressor to exit', () => {
    if (archives() !== count) {
      count = archives();
      lastAt = Date.now();
    }
    return !isAlive(compressor);
  }, 20_000);
  const after = Date.now() - lastAt;
  t.ok(after >= 4_000 && after < 8_000, `it exited ${after} ms after its last archive`);
});
