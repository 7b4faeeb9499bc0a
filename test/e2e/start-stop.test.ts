import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixture, repoRoot } from '../helpers/paths.js';
import { bootLines, freePort, get, isAlive, line, lines, Sandbox, stopLines, waitFor } from '../helpers/naught.js';

t.test('start, status, stop: exact output, files, and exit codes', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', fixture('hello-server.cjs'), '--flag', 'value'], { PORT: String(port) });
  t.same(start, { code: 0, stdout: 'workers online: 2\n', stderr: lines(...bootLines(2)) });

  const daemonPid = box.daemonPid()!;
  t.ok(isAlive(daemonPid), 'the pid file names the live daemon');
  t.equal(fs.statSync(box.path('naught.ipc')).mode & 0o777, 0o600, 'the control socket is owner-only');
  t.equal(readLog(box), lines(...bootLines(2), line('Ready', 0, 2, 0, 0)));

  const replies = await Promise.all(Array.from({ length: 20 }, () => get(port)));
  t.same(new Set(replies.map((r) => r.worker)), new Set(['0', '1']), 'NAUGHT_WORKER is 0 and 1');
  t.same(replies[0]!.argv, ['--flag', 'value'], 'script options reach the server');
  t.equal(replies[0]!.cwd, box.dir, '--cwd defaults to where naught ran');

  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
  t.same(await box.naught(['start', fixture('hello-server.cjs')]), { code: 1, stdout: 'workers online: 2\n', stderr: '' }, 'a second start prints the status');

  t.same(await box.naught(['stop']), { code: 0, stdout: '', stderr: lines(...stopLines(2)) });
  await waitFor('the daemon to exit', () => !isAlive(daemonPid), 5000);
  t.notOk(fs.existsSync(box.path('naught.pid')), 'the pid file is removed');
  t.notOk(fs.existsSync(box.path('naught.ipc')), 'the socket is removed');
  t.ok(readLog(box).endsWith(lines(...stopLines(2), line('Shutdown', 0, 0, 0, 0))), 'naught.log ends with the stop and Shutdown');

  t.same(await box.naught(['status']), { code: 1, stdout: '', stderr: 'server not running\n' });
  t.same(await box.naught(['stop']), { code: 0, stdout: '', stderr: 'server not running\n' });
});

t.test('start options: paths, worker-count auto, node-args, cwd, ignored messages', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  fs.mkdirSync(box.path('run'));
  fs.mkdirSync(box.path('app'));
  // A log in a folder that does not exist is an error that names it, as in naught 1.6: no folder is made.
  t.same(await box.naught(['start', '--stdout', 'logs/out.log', fixture('hello-server.cjs')], { PORT: String(port) }), {
    code: 1, stdout: '', stderr: `unable to start daemon: the folder ${box.path('logs')} of ${box.path('logs/out.log')} does not exist\n`,
  });
  t.notOk(fs.existsSync(box.path('logs')));
  fs.mkdirSync(box.path('logs'));
  const start = await box.naught([
    'start', '--worker-count', 'auto', '--ipc-file', 'run/x.ipc', '--pid-file', 'run/x.pid', '--log', 'logs/n.log',
    '--stdout', 'logs/out.log', '--stderr', 'logs/err.log', '--cwd', 'app', '--node-args', '--max-old-space-size=100  --no-warnings',
    fixture('hello-server.cjs'),
  ], { PORT: String(port) });
  const cpus = os.cpus().length;
  t.same(start, { code: 0, stdout: `workers online: ${cpus}\n`, stderr: lines(...bootLines(cpus)) });
  t.ok(fs.existsSync(box.path('run/x.pid')) && fs.existsSync(box.path('run/x.ipc')), 'pid and ipc files where asked');
  t.match(fs.readFileSync(box.path('logs/n.log'), 'utf8'), /^Bootup\./);
  const reply = await get(port);
  t.equal(reply.cwd, box.path('app'), '--cwd is the workers\' working directory');
  t.same(reply.execArgv.slice(0, 2), ['--max-old-space-size=100', '--no-warnings'], '--node-args reach the workers through the master');
  t.same(reply.execArgv.slice(2), ['--require', path.join(repoRoot, 'dist/src/worker-preload.cjs')], 'then the worker preload');
  await waitFor('worker output in the stdout log', () => fs.readFileSync(box.path('logs/out.log'), 'utf8').includes('listening'));
  t.same(await box.naught(['status', 'run/x.ipc']), { code: 0, stdout: `workers online: ${cpus}\n`, stderr: '' });
  t.same((await box.naught(['stop', 'run/x.ipc'])).code, 0);
});

t.test("messages other than 'online' are ignored", async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.same(await box.naught(['start', fixture('sends-trash-then-online.cjs')], { PORT: String(port) }), { code: 0, stdout: 'workers online: 1\n', stderr: lines(...bootLines(1)) });
  t.same(Object.keys(await get(port)).sort(), ['pid', 'worker']);
  t.equal((await box.naught(['stop'])).code, 0);
});

t.test('/dev/null disables a log', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--log', '/dev/null', '--stdout', '/dev/null', '--stderr', '/dev/null', fixture('hello-server.cjs')], { PORT: String(port) });
  t.equal(start.code, 0);
  t.same(fs.readdirSync(box.dir).sort(), ['naught.generations.json', 'naught.ipc', 'naught.pid'], 'no log files are created (the history is no log)');
  t.equal((await box.naught(['stop'])).code, 0);
});

function readLog(box: Sandbox): string {
  return fs.readFileSync(box.path('naught.log'), 'utf8');
}
