import t from 'tap';
import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { fixture, repoRoot } from '../helpers/paths.js';
import { bootLines, freePort, lines, Sandbox } from '../helpers/naught.js';
import { HELP, usage } from '../../src/cli/help.js';

const refused = (file: string) => `unable to connect to ipc-file \`${file}\`\n\n1. the ipc file specified is invalid, or\n2. the daemon process died unexpectedly\n`;

t.test('version and help', async (t) => {
  const box = new Sandbox(t);
  const { version } = JSON.parse(fs.readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string };
  t.same(await box.naught(['version']), { code: 0, stdout: `${version}\n`, stderr: '' });
  // The help shows the defaults of where naught runs, as naught's did.
  const here = (text: string) => text.split(`--cwd ${process.cwd()}`).join(`--cwd ${box.dir}`);
  t.same(await box.naught(['help', 'deploy']), { code: 0, stdout: here(HELP.deploy) + '\n', stderr: '' });
  t.same(await box.naught(['help']), { code: 0, stdout: '', stderr: here(usage()) });
  t.same((await box.naught(['help', 'frobnicate'])).code, 1);
  t.same((await box.naught([])).code, 1);
  const unknown = await box.naught(['frobnicate']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^\nnaught start \[options\] server\.js \[script-options\]/);
});

t.test('bad options print the command\'s help on stderr and exit 1', async (t) => {
  const box = new Sandbox(t);
  const cases = [
    ['start', '--bogus', '1', 'server.js'],
    ['start', '--worker-count', 'many', 'server.js'],
    ['start', '--max-log-size', 'big', 'server.js'],
    ['start', '--worker-count'],
    ['start'],
    ['stop', '--frobnicate', '1'],
    ['stop', 'a.ipc', 'b.ipc'],
    ['status', 'a.ipc', 'b.ipc'],
    ['deploy', '--worker-count', 'x'],
    ['deploy-abort', 'a', 'b'],
    ['version', 'extra'],
  ];
  for (const args of cases) {
    const run = await box.naught(args);
    t.equal(run.code, 1, args.join(' '));
    t.equal(run.stdout, '', args.join(' '));
    t.ok(run.stderr.startsWith(`naught ${args[0]}`), `${args.join(' ')}: help on stderr`);
  }
});

t.test('unable to start daemon: the reason, exit 1, nothing left running', async (t) => {
  const box = new Sandbox(t);
  fs.writeFileSync(box.path('not-a-dir'), '');
  const run = await box.naught(['start', '--ipc-file', 'not-a-dir/naught.ipc', fixture('hello-server.cjs')]);
  t.equal(run.code, 1);
  t.match(run.stderr, /^unable to start daemon: .*ENOTDIR.*not-a-dir\/naught\.ipc\n$/);
  const log = await box.naught(['start', '--log', 'not-a-dir/n.log', fixture('hello-server.cjs')]);
  t.match(log, { code: 1, stderr: /^unable to start daemon: .*not-a-dir/ }, 'an unwritable log path');
  t.notOk(fs.existsSync(box.path('naught.pid')));
  const long = `${'d'.repeat(120)}/naught.ipc`;
  t.same(await box.naught(['start', '--ipc-file', long, fixture('hello-server.cjs')]), {
    code: 1, stdout: '',
    stderr: `unable to start daemon: the ipc-file path ${box.path(long)} is longer than the 107 bytes a unix socket path may have\n`,
  }, 'a socket path that would be cut short');
});

t.test('a stale ipc-file: naught\'s refusal, --remove-old-ipc, and the dead daemon\'s pid as evidence', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  staleSocket(box.path('naught.ipc'));
  // The ipc-file as given (or defaulted), never resolved: naught 1.6's lib/main.js prints it so.
  for (const command of ['status', 'deploy', 'deploy-abort', 'stop', 'reopen-logs']) {
    t.same(await box.naught([command]), { code: 1, stdout: '', stderr: refused('naught.ipc') }, `${command}, the default`);
  }
  t.same(await box.naught(['start', fixture('hello-server.cjs')]), { code: 1, stdout: '', stderr: refused('naught.ipc') }, 'no pid file: no evidence');
  fs.mkdirSync(box.path('run'));
  staleSocket(box.path('run/app.ipc'));
  t.same(await box.naught(['status', 'run/app.ipc']), { code: 1, stdout: '', stderr: refused('run/app.ipc') }, 'relative, as given');
  t.same(await box.naught(['stop', './run/app.ipc']), { code: 1, stdout: '', stderr: refused('./run/app.ipc') });
  t.same(await box.naught(['deploy', box.path('run/app.ipc')]), { code: 1, stdout: '', stderr: refused(box.path('run/app.ipc')) }, 'absolute, as given');
  t.same(await box.naught(['start', '--ipc-file', 'run/app.ipc', fixture('hello-server.cjs')]), { code: 1, stdout: '', stderr: refused('run/app.ipc') });
  t.same(await box.naught(['trace', '--follow', 'run/app.ipc']), { code: 1, stdout: '', stderr: refused('run/app.ipc') });
  const live = spawn('sleep', ['30']);
  t.teardown(() => live.kill('SIGKILL'));
  fs.writeFileSync(box.path('naught.pid'), `${live.pid}\n`);
  t.same(await box.naught(['start', fixture('hello-server.cjs')]), { code: 1, stdout: '', stderr: refused('naught.ipc') }, 'a live pid: not stale');

  const forced = await box.naught(['start', '--remove-old-ipc', 'true', fixture('hello-server.cjs')], { PORT: String(port) });
  t.same(forced, {
    code: 0, stdout: 'workers online: 1\n',
    stderr: 'unable to connect to ipc-file `naught.ipc`\n\nremoving the ipc-file and attempting to continue\n' + lines(...bootLines(1)),
  });
  const daemonPid = box.daemonPid()!;
  process.kill(daemonPid, 'SIGKILL');
  const recovered = await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(port) });
  t.same(recovered, {
    code: 0, stdout: 'workers online: 1\n',
    stderr: `removing stale ipc-file \`naught.ipc\`: its daemon (pid ${daemonPid}) is gone\n` + lines(...bootLines(1)),
  }, 'a killed daemon is recovered from without --remove-old-ipc');
  t.equal((await box.naught(['stop'])).code, 0);
});

t.test('owner-only control: another user cannot deploy or stop', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  fs.chmodSync(box.dir, 0o755);
  t.equal((await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.equal(fs.statSync(box.path('naught.ipc')).mode & 0o777, 0o600);
  if (process.getuid?.() !== 0) {
    // Only root can act as another user here; the socket's mode above is what protects it.
    t.comment('not root: the cross-user attempt is left to runs as root (CI)');
    return;
  }
  for (const command of ['stop', 'deploy', 'status']) {
    const run = await box.naughtAs(65534, [command]);
    t.equal(run.code, 1, `${command} as nobody`);
    t.match(run.stderr, /^unable to connect to ipc-file `.*naught\.ipc`: connect EACCES/);
  }
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 1\n', stderr: '' });
});

/** A socket file nobody listens on, as a daemon killed with SIGKILL leaves behind. */
function staleSocket(file: string): void {
  const script = "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))";
  spawnSync(process.execPath, ['-e', script, file]);
  if (!fs.existsSync(file)) throw new Error('could not leave a stale socket behind');
}
