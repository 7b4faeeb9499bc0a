// `start --env-file`: the file is read at the start and again at every deploy, its values go
// over both shells' (the start's and, with --override-env, the deploy's), a name taken out
// of it is gone after the next deploy, and a file that cannot be read then changes nothing.
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import { fixture } from '../helpers/paths.js';
import { freePort, get, readText, Sandbox, waitFor } from '../helpers/naught.js';

/** The APP_* variables a worker of env-echo.cjs has. */
const appEnv = async (port: number) => (await get(port)) as unknown as Record<string, string>;

function workerPid(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => { res.resume(); resolve(Number(res.headers['x-pid'])); }).on('error', reject);
  });
}

t.test('what a deploy re-reads: the file as it is now, over the shells', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  fs.writeFileSync(box.path('app.env'), '# the app\nAPP_GREETING=one\nAPP_REMOVED=yes\nAPP_BASE="from the file"\n');
  const start = await box.naught(['start', '--env-file', 'app.env', '--worker-count', '2', fixture('env-echo.cjs')], { PORT: String(port), APP_BASE: 'start shell', APP_START: 'start shell' });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.same(await appEnv(port), { APP_BASE: 'from the file', APP_GREETING: 'one', APP_REMOVED: 'yes', APP_START: 'start shell' }, 'at the start: the file over the start\'s shell');

  fs.writeFileSync(box.path('app.env'), 'APP_GREETING=two\n');
  t.equal((await box.naught(['deploy', '--override-env', 'false'])).code, 0);
  t.same(await appEnv(port), { APP_BASE: 'start shell', APP_GREETING: 'two', APP_START: 'start shell' },
    'a name taken out of the file is gone, or has the value it had under it again');

  t.equal((await box.naught(['deploy'], { APP_GREETING: 'deploy shell', APP_DEPLOY: 'deploy shell' })).code, 0);
  t.same(await appEnv(port), { APP_BASE: 'start shell', APP_DEPLOY: 'deploy shell', APP_GREETING: 'two', APP_START: 'start shell' },
    '--override-env adds the deploying shell\'s variables, under the file\'s');

  fs.rmSync(box.path('app.env'));
  const deploy = await box.naught(['deploy', '--override-env', 'false']);
  t.equal(deploy.code, 0, 'a file that cannot be read does not fail the deploy');
  t.match(readText(box.path('naught.log')), /^Cannot read --env-file .*app\.env: ENOENT: no such file or directory, open '.*app\.env'\. The new workers get the values it had when last read\.$/m);
  t.equal((await appEnv(port)).APP_GREETING, 'two', 'the values it had when last read');
});

t.test('a deploy that fails puts the last release\'s file values back, for a replacement worker and for the next deploy', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  fs.writeFileSync(box.path('app.env'), 'APP_OLD=yes\n');
  t.equal((await box.naught(['start', '--env-file', 'app.env', fixture('env-echo.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  fs.writeFileSync(box.path('app.env'), 'APP_CRASH=1\n');
  t.equal((await box.naught(['deploy', '--override-env', 'false'])).code, 1, 'the new worker dies before it is online: the deploy fails');
  const pid = await workerPid(port);
  process.kill(pid, 'SIGKILL');
  await waitFor('the replacement worker', async () => { try { return (await workerPid(port)) !== pid; } catch { return false; } });
  t.same(await appEnv(port), { APP_OLD: 'yes' }, 'the replacement runs with the values of the release that was ready');
  fs.writeFileSync(box.path('app.env'), 'APP_NEW=1\n');
  t.equal((await box.naught(['deploy', '--override-env', 'false'])).code, 0);
  t.same(await appEnv(port), { APP_NEW: '1' }, 'the next deploy knows APP_OLD came from the file, and takes it off');
});

t.test('an env file that cannot be read refuses the start: Node itself checks it, before naught runs', async (t) => {
  // Node reads `--env-file` anywhere on its command line for this check, even after the
  // script (every line from 20 to 26), and exits 9 with its own line.
  const box = new Sandbox(t);
  const run = await box.naught(['start', '--env-file', 'missing.env', fixture('env-echo.cjs')]);
  t.same(run, { code: 9, stdout: '', stderr: `${process.execPath}: missing.env: not found\n` });
  fs.mkdirSync(box.path('a-folder.env'));
  t.equal((await box.naught(['start', '--env-file', 'a-folder.env', fixture('env-echo.cjs')])).code, 9);
  t.notOk(fs.existsSync(box.path('naught.pid')), 'no daemon');
});
