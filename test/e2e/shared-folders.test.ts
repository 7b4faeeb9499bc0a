// naught run as root in a folder others may write (world-writable and sticky, as /tmp),
// where another local user (nobody, through setpriv) plants files under the names naught
// uses. Each planted file is refused with a line naming it and its owner; nothing of the
// planter's runs, and nothing is written where the planter chose.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { fixture, naughtBin } from '../helpers/paths.js';
import { freePort, readText, Sandbox, waitFor } from '../helpers/naught.js';

const NOBODY = 65534;

/** Runs a shell command as nobody, as another local user would. */
const asNobody = (command: string, cwd: string) => execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', command], { cwd });

function sharedBox(t: Test): Sandbox {
  if (process.geteuid?.() !== 0) throw new Error('these tests plant files as another user: run them as root');
  const box = new Sandbox(t);
  fs.chmodSync(box.dir, 0o1777);
  return box;
}

t.test("a history another user planted is refused: naught history does not list it, rollback cannot run its script", async (t) => {
  const box = sharedBox(t);
  const port = await freePort();
  asNobody(`printf 'require("fs").writeFileSync("%s/ran-as-root", "")\\n' "$PWD" > evil.js && printf '%s' '${JSON.stringify([
    { generation: 7, at: '2026-01-01T00:00:00.000Z', script: `${box.dir}/evil.js`, cwd: box.dir, env: {}, envChanged: [], workerCount: 1 },
  ])}' > naught.generations.json`, box.dir);
  const start = await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(port) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const listed = JSON.parse((await box.naught(['history', '--json'])).stdout) as { generations: { generation: number; script: string }[] };
  t.same(listed.generations.map((g) => [g.generation, g.script]), [[1, fixture('hello-server.cjs')]], 'only the boot');
  t.match(readText(box.path('naught.log')), `Refusing the history: ${box.path('naught.generations.json')} is owned by nobody (uid ${NOBODY}), not by root (uid 0) who runs naught; starting with an empty one.`);
  const rollback = await box.naught(['rollback', '--to', '7']);
  t.equal(rollback.code, 1);
  t.notOk(fs.existsSync(box.path('ran-as-root')), "the planter's script never ran");
  t.match(readText(box.path('naught.log')), `Cannot write ${box.path('naught.generations.json')}: refusing ${box.path('naught.generations.json')}: it is a file owned by another user, nobody (uid ${NOBODY})`, 'nor is it overwritten');
});

t.test("a link planted at the history's old temporary name gets nothing: the history is written under a name nobody can guess", async (t) => {
  const box = sharedBox(t);
  const port = await freePort();
  const start = await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(port) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const history = box.path('naught.generations.json');
  asNobody(`touch loot && ln -s loot ${history}.${box.daemonPid()}.tmp`, box.dir);
  t.equal((await box.naught(['deploy'], { SECRET_TOKEN: 's3cret' })).code, 0);
  t.equal(fs.readFileSync(box.path('loot'), 'utf8'), '', "nothing was written into the planter's file");
  const written = fs.lstatSync(history);
  t.same([written.isFile(), written.uid, written.mode & 0o777], [true, 0, 0o600], "the history is root's own, 0600");
  t.equal((JSON.parse((await box.naught(['history', '--json'])).stdout) as { generations: unknown[] }).generations.length, 2);
});

t.test("a pid file planted as a link to another file is refused, and that file is left as it was", async (t) => {
  const box = sharedBox(t);
  const precious = fs.mkdtempSync(path.join(path.dirname(box.dir), 'naught-precious-'));
  t.teardown(() => fs.rmSync(precious, { recursive: true, force: true }));
  fs.writeFileSync(path.join(precious, 'shadow'), 'keep\n');
  asNobody(`ln -s ${precious}/shadow naught.pid`, box.dir);
  const start = await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(await freePort()) });
  t.same(start, {
    code: 1, stdout: '',
    stderr: `unable to start daemon: refusing ${box.path('naught.pid')}: it is a symbolic link owned by another user, nobody (uid ${NOBODY}), in ${box.dir}, a folder others may write\n`,
  });
  t.equal(fs.readFileSync(path.join(precious, 'shadow'), 'utf8'), 'keep\n');
  t.notOk(box.daemonPid(), 'nothing runs');
});

t.test('a log planted by another user is refused with its owner named', async (t) => {
  const box = sharedBox(t);
  asNobody('touch stdout.log', box.dir);
  const start = await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(await freePort()) });
  t.equal(start.code, 1);
  t.match(start.stderr, `refusing ${box.path('stdout.log')}: it is a file owned by another user, nobody (uid ${NOBODY}), in ${box.dir}, a folder others may write`);
  t.equal(fs.statSync(box.path('stdout.log')).size, 0);
});

t.test('--health unix:PATH removes only a dead socket: a file there is refused and kept', async (t) => {
  const box = new Sandbox(t);
  fs.writeFileSync(box.path('server.js'), 'precious source\n');
  const start = await box.naught(['start', '--health', 'unix:./server.js', fixture('hello-server.cjs')], { PORT: String(await freePort()) });
  t.same(start, {
    code: 1, stdout: '',
    stderr: `unable to start daemon: cannot serve --health on unix:${box.path('server.js')}: it is a file, not a socket, and naught removes only sockets\n`,
  });
  t.equal(fs.readFileSync(box.path('server.js'), 'utf8'), 'precious source\n');
});

t.test('--remove-old-ipc removes a stale socket only: a file at the ipc-file is refused and kept', async (t) => {
  const box = new Sandbox(t);
  fs.writeFileSync(box.path('naught.ipc'), 'not a socket\n');
  const start = await box.naught(['start', '--remove-old-ipc', 'true', fixture('hello-server.cjs')], { PORT: String(await freePort()) });
  t.equal(start.code, 1);
  t.match(start.stderr, `unable to start daemon: refusing to remove ${box.path('naught.ipc')}: it is a file, not a socket\n`);
  t.equal(fs.readFileSync(box.path('naught.ipc'), 'utf8'), 'not a socket\n');
});

t.test("the compressor never writes an archive through a link planted at its name", async (t) => {
  const box = sharedBox(t);
  fs.writeFileSync(box.path('out-1.log'), 'lines\n');
  asNobody('touch loot && ln -s loot out-1.log.gz', box.dir);
  const child = spawn(process.execPath, [naughtBin.replace(/naught\.js$/, 'compressor.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  let answer = '';
  child.stdout.on('data', (d: Buffer) => { answer += d; });
  child.stdin.end(`${box.path('out-1.log')}\n`);
  await new Promise((resolve) => child.once('close', resolve));
  t.match(answer, /^error EEXIST/);
  t.equal(fs.readFileSync(box.path('loot'), 'utf8'), '', "the planter's file is untouched");
  t.equal(fs.readFileSync(box.path('out-1.log'), 'utf8'), 'lines\n', 'the log is kept');
  await waitFor('nothing left running', () => child.exitCode !== null);
});
