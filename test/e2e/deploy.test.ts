import t, { type Test } from 'tap';
import fs from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { bootLines, deployLines, freePort, get, line, lines, Sandbox, waitFor } from '../helpers/naught.js';

/** A sandbox serving `server.cjs`, a symlink to a fixture that a test re-points to release new code. */
async function running(t: Test, workers: number, env: Record<string, string> = {}) {
  const box = new Sandbox(t);
  const port = await freePort();
  release(box, 'hello-server.cjs');
  const start = await box.naught(['start', '--worker-count', String(workers), 'server.cjs'], { PORT: String(port), ...env });
  t.same(start, { code: 0, stdout: `workers online: ${workers}\n`, stderr: lines(...bootLines(workers)) });
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  return { box, port };
}

function release(box: Sandbox, name: string): void {
  fs.rmSync(box.path('server.cjs'), { force: true });
  fs.symlinkSync(fixture(name), box.path('server.cjs'));
}

t.test('deploy replaces every worker with new ones, printing naught\'s lines and done', async (t) => {
  const { box, port } = await running(t, 2);
  const before = await get(port);
  const deploy = await box.naught(['deploy'], { GREETING: 'hello from the deploy' });
  t.same(deploy, { code: 0, stdout: '', stderr: lines(...deployLines(2), 'done') });
  const after = await get(port);
  t.not(after.pid, before.pid, 'new worker processes');
  t.equal(after.greeting, 'hello from the deploy', 'the CLI environment overrides the server\'s');
  await waitFor('naught.log to end with the deploy', () => fs.readFileSync(box.path('naught.log'), 'utf8').endsWith(lines(...deployLines(2), line('Ready', 0, 2, 0, 0))));

  t.same((await box.naught(['deploy', '--override-env', 'false'], { GREETING: 'ignored' })).code, 0);
  t.equal((await get(port)).greeting, 'hello from the deploy', 'without override the earlier environment stays');
});

t.test('deploy --worker-count changes the count; --cwd moves the workers', async (t) => {
  const { box, port } = await running(t, 1);
  fs.mkdirSync(box.path('release2'));
  const deploy = await box.naught(['deploy', '--worker-count', '3', '--cwd', 'release2']);
  t.equal(deploy.code, 0);
  t.equal(deploy.stderr.split('\n').filter((l) => l.startsWith('SpawnNew')).length, 3);
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 3\n', stderr: '' });
  const replies = await Promise.all(Array.from({ length: 30 }, () => get(port)));
  t.same(new Set(replies.map((r) => r.worker)), new Set(['0', '1', '2']));
  t.equal(replies[0]!.cwd, box.path('release2'));
});

t.test('a release that crashes at boot is rolled back; the old workers keep serving', async (t) => {
  const { box, port } = await running(t, 2);
  const before = (await get(port)).pid;
  release(box, 'crash-before-online.cjs');
  const deploy = await box.naught(['deploy']);
  t.equal(deploy.code, 1);
  t.equal(deploy.stdout, "Deploy failed. Check stderr.log and usage of 'online' and 'shutdown' events.\n");
  const [first, second, third] = deploy.stderr.split('\n');
  t.same([first, second], [line('SpawnNew', 1, 2, 0, 0), line('SpawnNew', 2, 2, 0, 0)]);
  t.equal(third, line('NewDeath', 1, 2, 0, 0));
  t.notMatch(deploy.stderr, /ShutdownOld/, 'no old worker was asked to go');
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
  const pids = new Set((await Promise.all(Array.from({ length: 10 }, () => get(port)))).map((r) => r.pid));
  t.ok(pids.has(before), 'the same old worker still answers');
  t.match(fs.readFileSync(box.path('stderr.log'), 'utf8'), /crash-before-online: giving up/);
});

t.test('deploy --timeout aborts a release that never comes online', async (t) => {
  const { box } = await running(t, 1);
  release(box, 'never-online.cjs');
  const deploy = await box.naught(['deploy', '--timeout', '0.5']);
  t.same(deploy, {
    code: 1,
    stdout: "Deploy failed. Check stderr.log and usage of 'online' and 'shutdown' events.\n",
    stderr: lines(line('SpawnNew', 1, 1, 0, 0), line('Timeout', 1, 1, 0, 0), line('DestroyNew', 0, 1, 0, 0), line('NewDestroyed', 0, 1, 0, 0)),
  });
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 1\n', stderr: '' });
});

t.test('deploy-abort and Ctrl+C end a hanging deploy with the old workers serving', async (t) => {
  const { box, port } = await running(t, 1);
  const serving = await get(port);
  t.same(await box.naught(['deploy-abort']), { code: 1, stdout: '', stderr: 'no deploy in progress\n' });

  release(box, 'never-online.cjs');
  const hanging = box.spawn(['deploy']);
  await waitFor('the deploy to spawn', () => hanging.output().stderr.includes('SpawnNew'));
  t.same(await box.naught(['status']), { code: 0, stdout: `booting\n${line('Status', 1, 1, 0, 0).slice('Status. '.length)}\n`, stderr: '' }, 'status answers during a deploy');
  const second = box.spawn(['deploy']);
  await waitFor('the second deploy to be refused', () => second.output().stderr.includes('Deploy already in progress. Press Ctrl+C to abort.\n'));
  t.equal(second.exitCode, null, 'a second deploy keeps waiting');
  t.equal(second.output().stderr, 'Deploy already in progress. Press Ctrl+C to abort.\n');
  second.kill('SIGKILL');
  const abort = await box.naught(['deploy-abort']);
  t.same(abort, { code: 0, stdout: '', stderr: lines(line('DestroyNew', 0, 1, 0, 0), line('NewDestroyed', 0, 1, 0, 0), 'deploy aborted') });
  t.same(await hanging.exited, { code: 0, stdout: '', stderr: lines(line('SpawnNew', 1, 1, 0, 0), line('DestroyNew', 0, 1, 0, 0), line('NewDestroyed', 0, 1, 0, 0), 'done') });

  const interrupted = box.spawn(['deploy']);
  await waitFor('the deploy to spawn', () => interrupted.output().stderr.includes('SpawnNew'));
  interrupted.kill('SIGINT');
  const result = await interrupted.exited;
  t.equal(result.code, 0);
  t.equal(result.stderr, lines(line('SpawnNew', 1, 1, 0, 0), 'aborting deploy', line('DestroyNew', 0, 1, 0, 0), line('NewDestroyed', 0, 1, 0, 0), 'done'));
  t.equal((await get(port)).pid, serving.pid, 'the old worker, on the old release, still answers');
});

t.test('old workers that ignore shutdown: deploy-abort kills them and the deploy completes', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  release(box, 'ignore-shutdown.cjs');
  t.equal((await box.naught(['start', 'server.cjs'], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '0.2']));
  release(box, 'hello-server.cjs');
  const deploy = box.spawn(['deploy']);
  await waitFor('the old worker to be asked to go', () => deploy.output().stderr.includes('ShutdownOld'));
  t.same(await box.naught(['status']), { code: 0, stdout: 'deploy in progress\nbooting: 0, online: 0, dying: 1, new_online: 1\n', stderr: '' });
  const abort = await box.naught(['deploy-abort']);
  t.same(abort, { code: 0, stdout: '', stderr: lines(line('DestroyOld', 0, 0, 1, 1), 'deploy aborted') });
  t.same(await deploy.exited, {
    code: 0, stdout: '',
    stderr: lines(line('SpawnNew', 1, 1, 0, 0), line('NewOnline', 0, 1, 0, 1), line('ShutdownOld', 0, 0, 1, 1), line('DestroyOld', 0, 0, 1, 1), 'done'),
  });
  await waitFor('the new release to serve', () => get(port).then((r) => r.worker === '0', () => false));
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 1\n', stderr: '' });
});
