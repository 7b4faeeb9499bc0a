import t from 'tap';
import { fixture } from '../helpers/paths.js';
import { descendants, freePort, isAlive, readText, Sandbox, waitFor } from '../helpers/naught.js';
import { undiciLoad } from '../helpers/http-loads.js';

const count = (text: string, what: string) => text.split(what).length - 1;

t.test('10 SIGHUPs within 100 ms: one deploy at a time, the rest refused as documented, no request lost', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', fixture('boots-slowly.cjs')], { PORT: String(port), BOOT_MS: '500' });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const daemon = box.daemonPid()!;
  const load = undiciLoad(`http://127.0.0.1:${port}/`, 4);
  for (let i = 0; i < 10; i++) {
    process.kill(daemon, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 10));
  }
  await waitFor('the deploy to be done', () => count(readText(box.path('naught.log')), 'Ready.') === 2);
  const naughtLog = readText(box.path('naught.log'));
  const refused = count(naughtLog, 'ErrorDeployInProgress.');
  t.comment(`${refused + 1} SIGHUPs handled: one deploy, ${refused} refused`);
  t.ok(refused >= 1, 'the later SIGHUPs were refused while the deploy ran');
  t.equal(count(naughtLog, 'SpawnNew.'), 4, 'one deploy: two workers at boot, two new ones');
  t.equal(count(naughtLog, 'ErrorDeployInProgress. booting: 2, online: 2, dying: 0, new_online: 0'), refused, 'each refusal in naught.log, as naught prints it');
  const served = await load.stop();
  t.same(served.failed, [], 'no request failed');
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
});

t.test('SIGTERM during a deploy: the stop wins, every worker drains, the daemon exits', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', fixture('boots-slowly.cjs')], { PORT: String(port), BOOT_MS: '50' });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const daemon = box.daemonPid()!;
  const everyone = [daemon, ...descendants(daemon)];
  const deploy = box.spawn(['deploy'], { BOOT_MS: '3000' });
  await waitFor('the new workers to be spawned', () => count(readText(box.path('naught.log')), 'SpawnNew.') === 4);
  process.kill(daemon, 'SIGTERM');
  const result = await deploy.exited;
  t.equal(result.code, 1);
  t.match(result.stderr, /OldExit\. booting: 0, online: 0, dying: 0, new_online: 0\nBootup never succeeded\. Check stderr\.log and usage of 'online' and 'shutdown' events\.\n$/);
  await waitFor('every process to be gone', () => [...everyone, ...descendants(daemon)].every((pid) => !isAlive(pid)));
  const naughtLog = readText(box.path('naught.log'));
  t.equal(count(naughtLog, 'ShutdownOld.'), 4, 'all four workers were asked to shut down');
  t.match(naughtLog, /OldExit\. booting: 0, online: 0, dying: 0, new_online: 0\nShutdown\. /);
});
