import t from 'tap';
import fs from 'node:fs';
import { availableCpus } from '../../src/cli/cpus.js';
import { spawn, spawnSync } from 'node:child_process';
import { fixture, repoRoot } from '../helpers/paths.js';
import { bootLines, freePort, lines, Sandbox } from '../helpers/naught.js';

const refused = (file: string) => `unable to connect to ipc-file \`${file}\`\n\n1. the ipc file specified is invalid, or\n2. the daemon process died unexpectedly\n`;

/** naught 1.6's own CLI (node_modules/naught), whose help paths still run on Node 20: the reference. */
function naught16(box: Sandbox, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [`${repoRoot}/node_modules/naught/lib/main.js`, ...args], { cwd: box.dir, encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Our help less what we added beyond naught 1.6: options of start, and the reopen-logs and trace commands. */
function lessOurAdditions(text: string): string {
  const added = ['--max-log-files', '--trace', '--timeout', '--ready', '--env-file', '--drain', '--drain-recent-ms', '--plugin', '--json', '--workers', '--worker-timeout', '--max-worker-memory', '--health', '--listen', '--worker-count-limit'];
  const lines = text.split('\n').filter((line) => !added.some((option) => line.startsWith(`    ${option} `)) && !/^ {4}(?: {4})?--worker-count auto /.test(line) && !/^ {8}--(?:probation|batch-size|worker-count-limit) /.test(line));
  // Each command's block in the usage is "\n" + its help + "\n\n".
  return lines.join('\n').replace(/\nnaught (?:reopen-logs|trace|history|rollback|upgrade|ps|logs) [\s\S]*?\n\n(?=\nnaught |$)/g, '');
}

t.test("help: naught 1.6's texts, word for word, for every command (ours adds only its new options and commands)", async (t) => {
  const box = new Sandbox(t);
  for (const command of ['start', 'stop', 'status', 'deploy', 'deploy-abort', 'version', 'help']) {
    const ours = await box.naught(['help', command]);
    const theirs = naught16(box, ['help', command]);
    t.same({ ...ours, stdout: lessOurAdditions(ours.stdout) }, theirs, `help ${command}`);
  }
  t.match((await box.naught(['help', 'start'])).stdout, "    --max-log-size 10485760\n    --max-log-files 0 (keep every archive)\n    --trace (off; a file records every bus message)\n    --timeout none (seconds to boot; then the start fails)\n    --ready online (or listening: once a server listens; or 5s: after 5 seconds)\n    --env-file (none; a dotenv file, read again at every deploy)\n    --drain auto (keep-alive clients survive a worker's close; or off)\n    --drain-recent-ms 1000\n    --worker-timeout none (seconds; a naught/worker worker silent this long is replaced)\n    --max-worker-memory none (e.g. 512M; a worker above it is replaced, no downtime)\n    --worker-count-limit (8 per CPU; --worker-count may not go past it without this)\n    --worker-count auto (also accepted: one worker per CPU this process may use)\n    --health none (127.0.0.1:PORT or unix:/path: serves /livez, /readyz, /status)\n    --listen (none; repeatable: [name=]HOST:PORT or unix:/path, for naught/worker's listen())\n    --plugin (none; repeatable: MODULE or MODULE='{json options}')\n    --cwd ");
  // The usage: `help`, bare `naught`, `help <unknown>` and an unknown command print it on stderr.
  for (const args of [['help'], [], ['help', 'frobnicate'], ['frobnicate']]) {
    const ours = await box.naught(args);
    const theirs = naught16(box, args);
    t.equal(lessOurAdditions(ours.stderr), theirs.stderr, `usage for \`naught ${args.join(' ')}\``);
    t.equal(ours.stdout, '');
    t.equal(ours.code, args[0] === 'help' && args.length === 1 ? 0 : 1, `exit code of \`naught ${args.join(' ')}\``);
  }
  t.match((await box.naught(['help'])).stderr, '\n\nnaught reopen-logs [ipc-file]\n');
  t.match((await box.naught(['help'])).stderr, '\n\nnaught trace [options] file\n');
});

t.test('version', async (t) => {
  const box = new Sandbox(t);
  const { version } = JSON.parse(fs.readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string };
  t.same(await box.naught(['version']), { code: 0, stdout: `${version}\n`, stderr: '' });
});

t.test("bad options print the command's help (naught 1.6's text) on stderr and exit 1", async (t) => {
  const box = new Sandbox(t);
  // A bad value adds, after the help, one line that names the option, the value and what is accepted.
  const cases: [string[], string][] = [
    [['start', '--bogus', '1', 'server.js'], ''],
    [['start', '--worker-count', 'many', 'server.js'], `naught start: --worker-count "many" is not accepted: auto, or a whole number from 1 to ${8 * availableCpus()}\n`],
    [['start', '--max-log-size', 'big', 'server.js'], 'naught start: --max-log-size "big" is not accepted: a size in bytes from 1, or with K, M or G (512K, 10M, 1G)\n'],
    [['start', '--worker-count'], ''],
    [['start'], ''],
    [['stop', '--frobnicate', '1'], ''],
    [['stop', 'a.ipc', 'b.ipc'], ''],
    [['status', 'a.ipc', 'b.ipc'], ''],
    [['deploy', '--worker-count', 'x'], `naught deploy: --worker-count "x" is not accepted: auto, or a whole number from 0 to ${8 * availableCpus()}\n`],
    [['deploy-abort', 'a', 'b'], ''],
    [['version', 'extra'], ''],
  ];
  for (const [args, line] of cases) {
    const run = await box.naught(args);
    const help = naught16(box, ['help', args[0]!]).stdout;
    t.same({ ...run, stderr: lessOurAdditions(run.stderr) }, { code: 1, stdout: '', stderr: help + line }, args.join(' '));
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
  // No daemon can listen there: on every Node line that is "not running", not connect's EINVAL.
  t.same(await box.naught(['status', long]), { code: 1, stdout: '', stderr: 'server not running\n' }, 'status on that path');
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

// Only root can act as another user here: elsewhere this is a skip, which the summary counts as not passed.
t.test('owner-only control: another user cannot deploy or stop', { skip: process.getuid?.() !== 0 && 'needs root to run naught as another user' }, async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  fs.chmodSync(box.dir, 0o755);
  t.equal((await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.equal(fs.statSync(box.path('naught.ipc')).mode & 0o777, 0o600);
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
