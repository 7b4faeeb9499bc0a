// The daemon actor in this process, on an in-memory bus, with a real master and worker: it
// writes its pid file, listens on its control socket, boots the release, takes a deploy's
// release only once it settled, answers without a master, and leaves nothing after a stop.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBus } from '../../src/bus/bus.js';
import type { Message, MessageOf } from '../../src/bus/messages.js';
import { createDaemonActor, DaemonStartError } from '../../src/actors/daemon.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { freePort } from '../helpers/naught.js';
import { sample } from '../helpers/sample-messages.js';

function folder(t: Test): (name: string) => string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-daemon-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return (name) => path.join(root, name);
}

t.test('start, a deploy, status and stop, with the files it owns', async (t) => {
  const file = folder(t);
  const port = await freePort();
  const config = {
    ...sample('cmd.start').config, script: fixture('hello-server.cjs'), cwd: repoRoot, args: [], nodeArgs: [], workerCount: 1, env: { PORT: String(port) },
    ipcFile: file('naught.ipc'), pidFile: file('naught.pid'), log: file('naught.log'), stdout: file('stdout.log'), stderr: file('stderr.log'), plugins: [],
  };
  const bus = createBus('daemon');
  const seen: Message[] = [];
  bus.onAny(({ msg }) => seen.push(msg));
  const next = <T extends Message['type']>(type: T, match: (msg: MessageOf<T>) => boolean = () => true) => new Promise<MessageOf<T>>((resolve) => {
    const off = bus.on(type, (msg) => { if (match(msg)) { off(); resolve(msg); } });
  });
  const ready = next('pool.event', ({ event }) => event === 'Ready');
  let listening = false;
  const hangupHandlers = process.listeners('SIGHUP').length;
  const daemon = await createDaemonActor({ bus, config, foreground: false, onListening: () => { listening = true; } });
  let stopped = false;
  t.teardown(async () => { if (!stopped) { bus.publish({ type: 'cmd.stop', requestId: 'teardown', timeoutMs: 1_000 }); await daemon.done; } });
  t.equal(listening, true);
  t.equal(fs.readFileSync(config.pidFile, 'utf8'), `${process.pid}\n`);
  t.ok(fs.statSync(config.ipcFile).isSocket());
  await ready;
  t.match(seen.find((msg) => msg.type === 'cmd.boot'), { firstBoot: true, generation: 1, config: { workerCount: 1 } });

  const settled = next('deploy.settled');
  bus.publish({ type: 'cmd.deploy', requestId: 'd1', workerCount: 0, env: { GREETING: 'second' }, cwd: null, timeoutMs: null });
  t.same((await settled).running, 'new');
  const report = next('status.report');
  bus.publish({ type: 'cmd.inspect', requestId: 'i1' });
  t.match((await report).report, { running: true, master: { restarts: 0 }, workers: [{ slot: 0, generation: 2 }] });
  const listed = next('plugin.list');
  const status = next('pool.reply', ({ requestId }) => requestId === 'q1');
  bus.publish({ type: 'cmd.status', requestId: 'q1' });
  t.same([(await listed).plugins, (await status).event], [[], 'Status']);

  bus.publish({ type: 'cmd.stop', requestId: 's1', timeoutMs: null });
  t.equal(await daemon.done, 0);
  stopped = true;
  t.notOk(fs.existsSync(config.pidFile), 'the pid file goes');
  t.notOk(fs.existsSync(config.ipcFile), 'and the socket');
  const log = fs.readFileSync(config.log, 'utf8');
  t.match(log, /^Bootup\. booting: 0, online: 0, dying: 0, new_online: 0\n/);
  t.match(log, /\nShutdown\. booting: 0, online: 0, dying: 0, new_online: 0\n$/);
  t.equal(process.listeners('SIGHUP').length, hangupHandlers, 'its signal handlers are gone');
});

t.test('a log path that cannot be opened fails the start with the reason, and leaves nothing behind', async (t) => {
  const file = folder(t);
  fs.writeFileSync(file('not-a-folder'), '');
  const config = { ...sample('cmd.start').config, ipcFile: file('naught.ipc'), pidFile: file('naught.pid'), log: file('not-a-folder/naught.log'), stdout: '/dev/null', stderr: '/dev/null', plugins: [] };
  const error = await createDaemonActor({ bus: createBus('daemon'), config, foreground: false }).then(() => null, (thrown: unknown) => thrown);
  t.ok(error instanceof DaemonStartError, String(error));
  t.match((error as Error).message, /ENOTDIR/);
  t.notOk(fs.existsSync(config.pidFile));
  t.notOk(fs.existsSync(config.ipcFile));
});
