// A newcomer's first run: what start and deploy show on a terminal (under a pseudo-terminal,
// util-linux's `script`), and that without one the bytes stay naught 1.6's.
import t from 'tap';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { fixture, naughtBin } from '../helpers/paths.js';
import { deployLines, freePort, isAlive, line, lines, Sandbox, servingRelease } from '../helpers/naught.js';

const HINT = "Still booting: a worker counts as online once the server calls process.send('online') (or online(server) from naught/worker) after it listens. See docs/worker-protocol.md.";
const quote = (arg: string) => `'${arg.replace(/'/g, "'\\''")}'`;

/** `naught args…` on a pseudo-terminal: what a terminal would show, with the exit code. */
function onTerminal(box: Sandbox, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, naughtBin, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { cwd: box.dir, env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout) => {
      const daemon = box.daemonPid();
      if (daemon !== null) box.track(daemon);
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, screen: stdout.replace(/\r\n/g, '\n') });
    });
  });
}

/** What the terminal shows once every live line was overwritten: each line from its last clear (`\r\x1b[K`) on. */
const visible = (screen: string) => screen.split('\n').map((row) => {
  const at = row.lastIndexOf('\r\x1b[K');
  return at === -1 ? row : row.slice(at + 4);
}).join('\n');

t.test('on a terminal, start shows a live boot line, a hint after 10 s, and gives up at --timeout', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const run = await onTerminal(box, ['start', '--timeout', '11', fixture('never-online.cjs')], { PORT: String(port) });
  t.equal(run.code, 1);
  t.match(run.screen, '\r\x1b[Kbooting 0/1, 0 s', 'the live line');
  t.match(run.screen, '\r\x1b[Kbooting 0/1, 10 s', 'redrawn every second');
  t.equal(run.screen.split(HINT).length, 2, 'the hint, once');
  t.ok(run.screen.indexOf(HINT) > run.screen.indexOf('booting 0/1, 9 s'), 'after 10 s');
  t.match(run.screen, /Timeout\. booting: 1, online: 0, dying: 0, new_online: 0\n/);
  t.match(run.screen, /The server was still booting when --timeout passed \(11 s\); its workers were stopped\. Check stderr\.log\.\n$/);
  t.notOk(fs.existsSync(box.path('naught.pid')), 'nothing is left running');
});

t.test('without a terminal, --timeout prints the events and one line, and no live line', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const run = await box.naught(['start', '--timeout', '1', fixture('never-online.cjs')], { PORT: String(port) });
  t.same(run, {
    code: 1, stdout: '',
    stderr: lines(
      line('Bootup', 0, 0, 0, 0), line('SpawnNew', 1, 0, 0, 0), line('Timeout', 1, 0, 0, 0), line('DestroyNew', 0, 0, 0, 0), line('NewDestroyed', 0, 0, 0, 0),
      'The server was still booting when --timeout passed (1 s); its workers were stopped. Check stderr.log.',
    ),
  });
  t.notOk(fs.existsSync(box.path('naught.pid')), 'nothing is left running');
});

t.test('on a terminal, a server that works shows its boot and ends with the status, the live line erased', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const run = await onTerminal(box, ['start', '--worker-count', '2', fixture('hello-server.cjs')], { PORT: String(port) });
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.equal(run.code, 0);
  t.match(run.screen, '\r\x1b[Kbooting 0/2, 0 s');
  t.match(run.screen, /\r\x1b\[Kworkers online: 2\n$/, 'the live line erased before the status');
  t.notMatch(run.screen, HINT);
});

t.test('on a terminal, a crash at boot shows what the worker wrote to stderr: a missing script', async (t) => {
  const box = new Sandbox(t);
  const run = await onTerminal(box, ['start', 'missing.js']);
  t.equal(run.code, 1);
  const after = run.screen.slice(run.screen.indexOf('The server crashed without booting. Check stderr.log.\n'));
  t.match(after, /^The server crashed without booting\. Check stderr\.log\.\nWorker 0 \(pid \d+\) wrote before it died, on stderr:\n/);
  t.match(after, /\n {2}Error \[ERR_MODULE_NOT_FOUND\]: Cannot find module '.*missing\.js'/);
  t.match(after, /\n {2}.*code: 'ERR_MODULE_NOT_FOUND'/);
});

t.test('without a terminal, a crash at boot prints naught 1.6\'s lines only', async (t) => {
  const box = new Sandbox(t);
  const run = await box.naught(['start', 'missing.js']);
  t.equal(run.code, 1);
  t.same(run.stderr, lines(line('Bootup', 0, 0, 0, 0), line('SpawnNew', 1, 0, 0, 0), line('NewDeath', 0, 0, 0, 0), 'The server crashed without booting. Check stderr.log.'));
  t.notMatch(run.stderr, /wrote before it died/);
});

t.test('on a terminal, a deploy whose new worker dies shows its last stderr lines after Deploy failed', async (t) => {
  const { box, release } = await servingRelease(t, 'hello-server.cjs');
  release('crash-before-online.cjs');
  const run = await onTerminal(box, ['deploy']);
  t.equal(run.code, 1);
  t.match(visible(run.screen), /Deploy failed\. Check stderr\.log and usage of 'online' and 'shutdown' events\.\nWorker \d \(pid \d+\) wrote before it died, on stderr:\n {2}crash-before-online: giving up before listening\n/);
  const daemon = box.daemonPid()!;
  t.ok(isAlive(daemon), 'the old workers serve on');
});

t.test('on a terminal, deploy and stop show a live line of their progress, erased at the end; without one, the bytes are naught 1.6\'s', async (t) => {
  const { box, release } = await servingRelease(t, 'hello-server.cjs');
  release('boots-slowly.cjs');
  const run = await onTerminal(box, ['deploy', '--worker-count', '2'], { BOOT_MS: '1500' });
  t.equal(run.code, 0);
  t.match(run.screen, '\r\x1b[Kdeploy: booting the new workers, new online 0/2, old draining 0, 0 s');
  t.match(run.screen, /\r\x1b\[Kdeploy: booting the new workers, new online 0\/2, old draining 0, 1 s/, 'redrawn every second');
  t.match(run.screen, /\r\x1b\[Kdeploy: retiring the old workers, new online \d, old draining 1, \d s/, 'then the old workers draining');
  t.match(run.screen, /done\n(\r\x1b\[K[^\n\r]*)*\r\x1b\[K$/, 'erased at the end');
  const shown = visible(run.screen);
  t.equal(shown, lines(...deployLines(2), 'done'), 'what stays on the screen is what naught printed');
  t.notMatch(shown, 'deploy:', 'and no live line');

  const stop = await onTerminal(box, ['stop']);
  t.equal(stop.code, 0);
  t.match(stop.screen, /\r\x1b\[Kstopping: \d draining, \d online, \d s/);
  t.match(stop.screen, /\r\x1b\[K$/);
});
