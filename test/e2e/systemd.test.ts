// sd_notify from the foreground daemon, received on a test-side NOTIFY_SOCKET as systemd
// would receive it: the messages, in order, from the daemon's own pid.
import t, { type Test } from 'tap';
import { fixture } from '../helpers/paths.js';
import { freePort, Sandbox, waitFor } from '../helpers/naught.js';
import { notifySocket } from '../helpers/notify-socket.js';

t.test('READY once booted, RELOADING and READY around a deploy, STATUS for every event, WATCHDOG while the master answers, STOPPING', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const notify = notifySocket(box, t);
  const naught = box.spawn(['start', '--daemon-mode', 'false', '--worker-count', '2', fixture('boots-slowly.cjs')],
    { PORT: String(port), BOOT_MS: '5500', NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000' });
  await waitFor('READY=1', () => notify.phases().includes('READY=1'), 20_000);
  t.same(notify.phases(), [`EXTEND_TIMEOUT_USEC=10000000`, 'READY=1'], 'a boot past 5 s asks for more time, then says it is ready');
  t.same(notify.statuses(), [
    'Bootup. booting: 0, online: 0, dying: 0, new_online: 0', 'SpawnNew. booting: 1, online: 0, dying: 0, new_online: 0',
    'SpawnNew. booting: 2, online: 0, dying: 0, new_online: 0', 'NewOnline. booting: 1, online: 0, dying: 0, new_online: 1',
    'NewOnline. booting: 0, online: 0, dying: 0, new_online: 2', 'Ready. booting: 0, online: 2, dying: 0, new_online: 0',
  ], "STATUS: each pool event in naught's words");

  const beforeDeploy = process.hrtime.bigint() / 1000n;
  naught.kill('SIGHUP');
  await waitFor('the deploy', () => notify.phases().filter((p) => p === 'READY=1').length === 2, 30_000);
  const [, , reloading, ...rest] = notify.phases();
  const usec = BigInt(/^RELOADING=1\nMONOTONIC_USEC=(\d+)$/.exec(reloading!)?.[1] ?? '0');
  t.ok(usec >= beforeDeploy && usec < beforeDeploy + 10_000_000n, 'RELOADING=1 with MONOTONIC_USEC of the moment it began');
  t.same(rest, ['EXTEND_TIMEOUT_USEC=10000000', 'READY=1'], 'a long deploy asks for more time too; READY=1 ends it');
  t.equal(notify.statuses().at(-1), 'Ready. booting: 0, online: 2, dying: 0, new_online: 0');

  const watchdogs = notify.received.filter((text) => text === 'WATCHDOG=1');
  t.ok(watchdogs.length >= 10, `WATCHDOG=1 every WATCHDOG_USEC/2 (${watchdogs.length} of them)`);

  naught.kill('SIGTERM');
  const run = await naught.exited;
  t.equal(run.code, 0);
  t.equal(notify.phases().at(-1), 'STOPPING=1');
  t.equal(notify.statuses().at(-1), 'Shutdown. booting: 0, online: 0, dying: 0, new_online: 0');
});

/** naught in the foreground under `env`; its `naught: ` lines once SIGTERM stopped it (exit 0). */
async function linesOfARun(t: Test, box: Sandbox, env: NodeJS.ProcessEnv): Promise<string> {
  const port = await freePort();
  const naught = box.spawn(['start', '--daemon-mode', 'false', '--log', '/dev/null', fixture('hello-server.cjs')], { PORT: String(port), ...env });
  await waitFor('serving', async () => (await box.naught(['status'])).stdout === 'workers online: 1\n');
  naught.kill('SIGTERM');
  const run = await naught.exited;
  t.equal(run.code, 0);
  t.notMatch(run.stderr, /Error:|at /, 'no stack trace');
  return run.stderr.split('\n').filter((l) => l.startsWith('naught: ')).join('\n');
}

t.test('without node-unix-socket (a platform it has no build for), one line says what is missing and naught runs on', async (t) => {
  const box = new Sandbox(t);
  t.equal(await linesOfARun(t, box, { NOTIFY_SOCKET: box.path('nobody.sock'), NODE_OPTIONS: `--require ${fixture('hides-notify-module.cjs')}` }),
    "naught: NOTIFY_SOCKET is set, but naught cannot tell systemd anything: the module node-unix-socket did not load (Cannot find module 'node-unix-socket'); it has builds for Linux and macOS on x64 and arm64. Use Type=simple elsewhere.");
});

t.test('an abstract NOTIFY_SOCKET, which naught cannot reach, is said once and naught runs on', async (t) => {
  const box = new Sandbox(t);
  t.equal(await linesOfARun(t, box, { NOTIFY_SOCKET: '@naught-test-notify' }),
    'naught: NOTIFY_SOCKET is set, but naught cannot tell systemd anything: @naught-test-notify is an abstract socket, which naught cannot reach. Use a socket path (systemd\'s own is one), or Type=simple.');
});
