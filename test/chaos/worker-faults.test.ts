import t from 'tap';
import fs from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { descendants, freePort, get, isAlive, line, masterOf, readText, Sandbox, servingRelease, waitFor } from '../helpers/naught.js';
import { undiciLoad } from '../helpers/http-loads.js';

const log = (box: Sandbox) => readText(box.path('naught.log'));
const count = (text: string, what: string) => text.split(what).length - 1;
/** The newest worker: the highest pid under the master. */
const newest = (box: Sandbox) => Math.max(...descendants(masterOf(box)));

t.test('kill -9 a worker while it boots at start: the start fails as a crash at boot does, and nothing is left', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = box.spawn(['start', '--worker-count', '2', fixture('boots-slowly.cjs')], { PORT: String(port), BOOT_MS: '3000' });
  await waitFor('both workers to be spawned', () => count(start.output().stderr, 'SpawnNew.') === 2 && box.daemonPid() !== null && descendants(box.daemonPid()!).length >= 3);
  const everyone = [box.daemonPid()!, ...descendants(box.daemonPid()!)];
  process.kill(newest(box), 'SIGKILL');
  const result = await start.exited;
  t.equal(result.code, 1);
  t.match(result.stderr, /NewDeath\. booting: 1, online: 0, dying: 0, new_online: 0\n(.|\n)*The server crashed without booting\. Check stderr\.log\.\n$/);
  await waitFor('every process to be gone', () => everyone.every((pid) => !isAlive(pid)));
  t.notOk(fs.existsSync(box.path('naught.ipc')));
});

t.test('kill -9 a booting new worker during a deploy: Deploy failed, exit 1, and the old workers serve throughout', async (t) => {
  const { box, port, release } = await servingRelease(t, 'hello-server.cjs');
  const load = undiciLoad(`http://127.0.0.1:${port}/`, 4);
  release('boots-slowly.cjs');
  const deploy = box.spawn(['deploy'], { BOOT_MS: '3000' });
  await waitFor('the new workers to be spawned', () => count(log(box), 'SpawnNew.') === 4);
  process.kill(newest(box), 'SIGKILL');
  const result = await deploy.exited;
  t.equal(result.code, 1);
  t.equal(result.stdout, "Deploy failed. Check stderr.log and usage of 'online' and 'shutdown' events.\n");
  const served = await load.stop();
  t.ok(served.ok > 50, 'the load ran');
  t.same(served.failed, [], 'no request failed: the old workers served');
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
});

t.test('kill -9 a new worker that is online while the other boots: the deploy fails, the old workers serve', async (t) => {
  const { box, port, release } = await servingRelease(t, 'hello-server.cjs');
  const load = undiciLoad(`http://127.0.0.1:${port}/`, 4);
  release('boots-slowly.cjs');
  const deploy = box.spawn(['deploy'], { BOOT_MS_0: '0', BOOT_MS_1: '3000' });
  await waitFor('one new worker online', () => count(log(box), 'NewOnline.') === 3);
  const online = descendants(masterOf(box)).sort((a, b) => a - b).at(-2)!;
  process.kill(online, 'SIGKILL');
  const result = await deploy.exited;
  t.equal(result.code, 1, result.stderr);
  t.match(result.stderr, `${line('NewDeath', 1, 2, 0, 0)}\n`);
  const served = await load.stop();
  t.same(served.failed, [], 'no request failed');
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
});

t.test('kill -9 an old worker while it drains during a deploy: the deploy is done; only its in-flight requests may fail', async (t) => {
  const { box, port, release } = await servingRelease(t, 'drains-slowly.cjs', { DRAIN_MS: '3000' });
  const oldWorkers = descendants(masterOf(box));
  const load = undiciLoad(`http://127.0.0.1:${port}/`, 4);
  release('hello-server.cjs');
  const deploy = box.spawn(['deploy']);
  await waitFor('the old workers to drain', () => count(log(box), 'ShutdownOld.') === 2);
  process.kill(oldWorkers[0]!, 'SIGKILL');
  const result = await deploy.exited;
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /done\n$/);
  const served = await load.stop();
  t.ok(served.failed.length <= 4, `at most the killed worker's in-flight requests failed: ${served.failed.join(', ')}`);
});

t.test('kill -9 a worker during a stop: the stop completes, exit 0', async (t) => {
  const { box } = await servingRelease(t, 'drains-slowly.cjs', { DRAIN_MS: '3000' });
  const daemon = box.daemonPid()!;
  const workers = descendants(masterOf(box));
  const stop = box.spawn(['stop']);
  await waitFor('both workers asked to stop', () => count(stop.output().stderr, 'ShutdownOld.') === 2);
  process.kill(workers[0]!, 'SIGKILL');
  const result = await stop.exited;
  t.equal(result.code, 0);
  t.match(result.stderr, /OldExit\. booting: 0, online: 0, dying: 0, new_online: 0\n$/);
  await waitFor('the daemon to exit', () => !isAlive(daemon));
});

t.test('SIGSTOP a new worker during a deploy: --timeout resolves it, the stopped worker is killed, the old ones serve', async (t) => {
  const { box, port, release } = await servingRelease(t, 'hello-server.cjs');
  release('boots-slowly.cjs');
  const deploy = box.spawn(['deploy', '--timeout', '1.5'], { BOOT_MS: '500' });
  await waitFor('the new workers to be spawned', () => count(log(box), 'SpawnNew.') === 4);
  const stopped = newest(box);
  process.kill(stopped, 'SIGSTOP');
  t.teardown(() => { try { process.kill(stopped, 'SIGKILL'); } catch { /* gone */ } });
  const result = await deploy.exited;
  t.equal(result.code, 1);
  t.match(result.stderr, /Timeout\. /);
  await waitFor('the stopped worker to be killed', () => !isAlive(stopped));
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
  t.equal((await get(port)).greeting, null);
});

t.test('SIGSTOP a worker during a stop: stop --timeout resolves it', async (t) => {
  const { box } = await servingRelease(t, 'hello-server.cjs');
  const daemon = box.daemonPid()!;
  const [stopped] = descendants(masterOf(box));
  process.kill(stopped!, 'SIGSTOP');
  t.teardown(() => { try { process.kill(stopped!, 'SIGKILL'); } catch { /* gone */ } });
  const result = await box.naught(['stop', '--timeout', '1']);
  t.equal(result.code, 0);
  t.match(result.stderr, /Timeout\. booting: 0, online: 0, dying: 1, new_online: 0\nDestroyOld\./);
  await waitFor('the daemon and the stopped worker to be gone', () => !isAlive(daemon) && !isAlive(stopped!));
});
