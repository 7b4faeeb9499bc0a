import t from 'tap';
import fs from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { bootLines, descendants, freePort, get, isAlive, line, lines, Sandbox, stopLines, waitFor } from '../helpers/naught.js';

const readLog = (box: Sandbox) => fs.readFileSync(box.path('naught.log'), 'utf8');

t.test('a server that crashes before online: start fails with naught\'s message and nothing is left', async (t) => {
  const box = new Sandbox(t);
  const start = await box.naught(['start', '--worker-count', '2', fixture('crash-before-online.cjs')]);
  t.equal(start.code, 1);
  t.equal(start.stdout, '');
  const stderr = start.stderr.split('\n');
  t.same(stderr.slice(0, 4), [line('Bootup', 0, 0, 0, 0), line('SpawnNew', 1, 0, 0, 0), line('SpawnNew', 2, 0, 0, 0), line('NewDeath', 1, 0, 0, 0)]);
  t.equal(stderr.at(-2), 'The server crashed without booting. Check stderr.log.');
  t.ok(readLog(box).endsWith(line('Shutdown', 0, 0, 0, 0) + '\n'));
  t.notOk(fs.existsSync(box.path('naught.pid')) || fs.existsSync(box.path('naught.ipc')), 'no pid file or socket left');
  t.match(fs.readFileSync(box.path('stderr.log'), 'utf8'), /giving up before listening/);
});

t.test('a killed worker is replaced in its slot, WorkerDeath counting the replacement', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--worker-count', '2', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const victim = await waitFor('worker 1 to answer', () => get(port).then((r) => (r.worker === '1' ? r : null)));
  process.kill(victim.pid, 'SIGKILL');
  const resuscitated = lines(line('WorkerDeath', 1, 1, 0, 0), line('WorkerOnline', 0, 2, 0, 0), line('Ready', 0, 2, 0, 0));
  await waitFor('WorkerDeath, WorkerOnline and Ready in naught.log', () => readLog(box).endsWith(resuscitated));
  const replacement = await waitFor('worker 1 again', () => get(port).then((r) => (r.worker === '1' ? r : null)));
  t.not(replacement.pid, victim.pid);
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
});

t.test('a crash loop backs off instead of burning a core, and says so', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', fixture('crash-after-online.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('three back-off notices', () => (readLog(box).match(/restarting it in/g) ?? []).length >= 3, 10_000);
  const notices = readLog(box).split('\n').filter((l) => l.includes('restarting it in'));
  t.same(notices.slice(0, 3), [
    'Worker 0 crashed 2 times in a row; restarting it in 100 ms.',
    'Worker 0 crashed 3 times in a row; restarting it in 200 ms.',
    'Worker 0 crashed 4 times in a row; restarting it in 400 ms.',
  ]);
  const deaths = readLog(box).split('\n').filter((l) => l.startsWith('WorkerDeath'));
  t.equal(deaths[0], line('WorkerDeath', 1, 0, 0, 0), 'each death counts its coming replacement');
  await waitFor('a back-off wait of 3.2 s', () => readLog(box).includes('restarting it in 3200 ms.'), 15_000);
  const since = Date.now();
  const stop = await box.naught(['stop']);
  const took = Date.now() - since;
  t.equal(stop.code, 0);
  // Waiting the back-off out would take up to 3.2 s; a stop takes a few hundred ms.
  t.ok(took < 2_000, `a stop during a back-off wait is immediate (${took} ms)`);
});

t.test("a worker that announces 'offline' is replaced at once; a second 'offline' is ignored", async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--worker-count', '2', fixture('goes-offline.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const leaving = await get(port, undefined, '/offline');
  await waitFor('the offline worker to exit', () => readLog(box).includes('WorkerDeath'));
  const after = readLog(box).split('\n').filter((l) => l && !l.startsWith('Workers drain')).slice(bootLines(2).length + 1);
  t.same(after, [
    line('WorkerOffline', 0, 1, 1, 0),
    line('SpawnNew', 1, 1, 1, 0),
    line('WorkerOnline', 0, 2, 1, 0),
    line('Ready', 0, 2, 1, 0),
    line('WorkerDeath', 0, 2, 0, 0),
  ]);
  const replies = await Promise.all(Array.from({ length: 10 }, () => get(port)));
  t.same(new Set(replies.map((r) => r.worker)), new Set(['0', '1']), 'the replacement has the same NAUGHT_WORKER');
  t.notOk(replies.some((r) => r.pid === leaving.pid), 'the offline worker gets no new requests');
});

t.test('the master is supervised: kill -9 it and the daemon starts a new one', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--worker-count', '2', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const daemonPid = box.daemonPid()!;
  const [masterPid] = descendants(daemonPid);
  const oldWorkers = descendants(masterPid!);
  process.kill(masterPid!, 'SIGKILL');
  await waitFor('a new master to boot', () => readLog(box).split('Ready.').length >= 3, 15_000);
  t.match(readLog(box), new RegExp(`The master process ${masterPid} died \\(signal SIGKILL\\); starting a new master\\.\\n${line('Bootup', 0, 0, 0, 0)}`));
  t.equal(box.daemonPid(), daemonPid, 'same daemon, same pid file');
  t.ok(fs.existsSync(box.path('naught.ipc')), 'socket kept');
  await waitFor('the old workers to be gone', () => oldWorkers.every((pid) => !isAlive(pid)));
  t.equal((await get(port)).greeting, null);
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
});

t.test('stop --timeout kills workers that ignore shutdown, also when given to a second stop', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--worker-count', '2', fixture('ignore-shutdown.cjs')], { PORT: String(port) })).code, 0);
  const first = box.spawn(['stop']);
  await waitFor('the first stop to ask both workers', () => first.output().stderr.split('ShutdownOld').length === 3);
  t.same(await box.naught(['status']), { code: 0, stdout: 'shutting down\nbooting: 0, online: 0, dying: 2, new_online: 0\n', stderr: '' });
  const killed = [line('Timeout', 0, 0, 2, 0), line('DestroyOld', 0, 0, 2, 0), line('DestroyOld', 0, 0, 2, 0), line('OldExit', 0, 0, 1, 0), line('OldExit', 0, 0, 0, 0)];
  const second = await box.naught(['stop', '--timeout', '0.3']);
  t.same(second, {
    code: 0, stdout: '',
    stderr: lines('Waiting for shutdown already in progress.', 'If it hangs, Ctrl+C this command and try it again with --timeout 1', ...killed),
  });
  t.same(await first.exited, { code: 0, stdout: '', stderr: lines(...stopLines(2).slice(0, 2), ...killed) });
});

t.test('a master whose daemon dies stops its workers instead of orphaning them', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--worker-count', '2', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  const daemonPid = box.daemonPid()!;
  const [masterPid] = descendants(daemonPid);
  const workers = descendants(masterPid!);
  t.equal(workers.length, 2);
  process.kill(daemonPid, 'SIGKILL');
  await waitFor('the master and its workers to exit', () => [masterPid!, ...workers].every((pid) => !isAlive(pid)), 15_000);
  await t.rejects(get(port), 'nothing serves any more');
});
