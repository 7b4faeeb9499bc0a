// docs/systemd.md's units, as written there: systemd-analyze accepts them, and naught
// run as they say (ExecStart under the .socket's listening socket, NOTIFY_SOCKET,
// WatchdogSec, ExecReload with $MAINPID, the upgrade recipe, the stop) serves every
// request under load, and tells systemd each step.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { fixture, naughtBin, repoRoot } from '../helpers/paths.js';
import { freePort, isAlive, Sandbox, waitFor } from '../helpers/naught.js';
import { notifySocket } from '../helpers/notify-socket.js';
import { startLoad } from '../helpers/load.js';

const section = fs.readFileSync(path.join(repoRoot, 'docs/systemd.md'), 'utf8');
const blocks = [...section.matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1]!);
const unitNamed = (name: string) => blocks.find((text) => text.startsWith(`# /etc/systemd/system/${name}\n`));

/** `Key=value` lines of one section of a unit. */
function settings(unit: string, sectionName: string): Map<string, string> {
  const body = unit.split(`[${sectionName}]\n`)[1]?.split(/\n\[/)[0] ?? '';
  return new Map(body.split('\n').filter((line) => /^\w+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

t.test('docs/systemd.md has app.service and app.socket, and systemd-analyze verify accepts both without a word', async (t) => {
  const service = unitNamed('app.service');
  const socket = unitNamed('app.socket');
  t.ok(service && socket, 'both units are in docs/systemd.md');
  const box = new Sandbox(t);
  fs.writeFileSync(box.path('app.service'), service!);
  fs.writeFileSync(box.path('app.socket'), socket!);
  const verify = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile('systemd-analyze', ['verify', box.path('app.service'), box.path('app.socket')], (error, stdout, stderr) => {
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, output: stdout + stderr });
    });
  });
  t.same(verify, { code: 0, output: '' });
  const serviceSettings = settings(service!, 'Service');
  t.same([serviceSettings.get('Type'), serviceSettings.get('NotifyAccess'), serviceSettings.get('ExecReload')], ['notify', 'main', '/bin/kill -HUP $MAINPID']);
  t.ok(Number(serviceSettings.get('WatchdogSec')) > 0, 'a watchdog');
});

t.test("run as docs/systemd.md's units say: start, reload, upgrade and stop under load, 0 failed, each step told to systemd", async (t) => {
  const service = settings(unitNamed('app.service')!, 'Service');
  const socketUnit = settings(unitNamed('app.socket')!, 'Socket');
  const box = new Sandbox(t);
  const [port, healthPort] = [await freePort(), await freePort()];
  const notify = notifySocket(box, t);
  const { received } = notify;
  const phases = () => notify.phases().filter((m) => !m.startsWith('EXTEND_TIMEOUT_USEC='));
  const readies = () => phases().filter((m) => m.split('\n').includes('READY=1')).length;

  // ExecStart as written, with this machine's naught, a fixture for the server and free ports.
  const execStart = service.get('ExecStart')!.split(' ');
  t.same(execStart.slice(0, 3), ['/usr/bin/env', 'naught', 'start']);
  const args = execStart.slice(2).map((arg) => (arg === '127.0.0.1:9000' ? `127.0.0.1:${healthPort}` : arg === '/srv/app/current/server.js' ? fixture('helper/activated.mjs') : arg));
  const listenStream = socketUnit.get('ListenStream')!.replace(/:\d+$/, `:${port}`);
  // As systemd does, it passes the launched process only the variables it names (-E).
  // The watchdog at 0.4 s rather than WatchdogSec's 30, so that the test sees it fed.
  const unitEnv = { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000' };
  const main = spawn('systemd-socket-activate', [
    '-l', listenStream, `--fdname=${socketUnit.get('FileDescriptorName')}`, ...Object.entries(unitEnv).map(([name, value]) => `-E${name}=${value}`),
    process.execPath, naughtBin, ...args,
  ], { cwd: box.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  box.track(main.pid!);
  let stderr = '';
  main.stderr.on('data', (d: Buffer) => { stderr += d; });
  main.stdout.resume();
  await waitFor('the socket', () => stderr.includes(`Listening on ${listenStream} as 3.`));
  t.teardown(() => { if (!t.passing()) t.comment(stderr, received.join(' | '), fs.readFileSync(box.path('naught.log'), 'utf8')); });
  const loads = [
    startLoad({ port, keepAlive: true, concurrency: 2, maxRequests: 1e9, maxMs: 120_000 }),
    startLoad({ port, keepAlive: false, concurrency: 2, maxRequests: 1e9, maxMs: 120_000 }),
  ];
  await waitFor('READY=1', () => readies() === 1, 30_000);

  // systemctl reload: ExecReload, with $MAINPID.
  execFileSync('/bin/sh', ['-c', service.get('ExecReload')!], { env: { ...process.env, MAINPID: String(main.pid) } });
  await waitFor('the reload', () => readies() === 2, 30_000);
  t.match(phases()[1], /^RELOADING=1\nMONOTONIC_USEC=\d+$/);

  // The upgrade recipe: the new naught's `naught upgrade`.
  const exited = new Promise((resolve) => main.once('exit', resolve));
  const upgrade = await box.naught(['upgrade']);
  t.equal(upgrade.code, 0, upgrade.stderr);
  t.equal(await exited, 0, 'the first main process exits 0');
  await waitFor('the new main process ready', () => readies() === 3);
  const newMain = Number(fs.readFileSync(box.path('naught.pid'), 'utf8'));
  box.track(newMain);
  t.same(phases().slice(3), [`MAINPID=${newMain}`, `MAINPID=${newMain}\nREADY=1`]);

  // systemctl reload again: ExecReload goes to the new main process.
  execFileSync('/bin/sh', ['-c', service.get('ExecReload')!], { env: { ...process.env, MAINPID: String(newMain) } });
  await waitFor('the second reload', () => readies() === 4, 30_000);
  const results = await Promise.all(loads.map((load) => load.stop()));
  t.same(results.map((r) => r.failures), [[], []], `0 failed of ${results[0]!.ok} keep-alive and ${results[1]!.ok} new-connection requests across start, 2 reloads and the upgrade`);
  const fedSince = () => received.slice(received.indexOf(`MAINPID=${newMain}\nREADY=1`)).filter((m) => m === 'WATCHDOG=1').length;
  await waitFor('the new main process feeding the watchdog', () => fedSince() > 2);
  // systemctl stop, KillMode=mixed: SIGTERM to the main process.
  process.kill(newMain, 'SIGTERM');
  await waitFor('the new main process gone', () => !isAlive(newMain), 30_000);
  t.equal(phases().at(-1), 'STOPPING=1');
});
