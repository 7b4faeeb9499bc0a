import t, { type Test } from 'tap';
import fs from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { descendants, get, isAlive, masterOf, readText, Sandbox, servingRelease, waitFor } from '../helpers/naught.js';

const log = (box: Sandbox) => readText(box.path('naught.log'));
const count = (text: string, what: string) => text.split(what).length - 1;

/** naught serving GREETING=v1 from a release that a deploy can switch. */
async function serving(t: Test, first: string, extra: Record<string, string> = {}) {
  const served = await servingRelease(t, first, { GREETING: 'v1', ...extra });
  const daemon = served.box.daemonPid()!;
  return { ...served, daemon, master: () => masterOf(served.box) };
}

const phases: { phase: string; start: string; next: string; env: Record<string, string>; after: string; times: number }[] = [
  { phase: 'new workers spawned, still booting', start: 'hello-server.cjs', next: 'boots-slowly.cjs', env: { BOOT_MS: '4000' }, after: 'SpawnNew.', times: 4 },
  { phase: 'one new worker online, the other booting', start: 'hello-server.cjs', next: 'boots-slowly.cjs', env: { BOOT_MS_0: '0', BOOT_MS_1: '4000' }, after: 'NewOnline.', times: 3 },
  { phase: 'old workers draining', start: 'drains-slowly.cjs', next: 'hello-server.cjs', env: { DRAIN_MS: '4000' }, after: 'ShutdownOld.', times: 1 },
];

for (const { phase, start, next, env, after, times } of phases) {
  t.test(`kill -9 the master during a deploy (${phase}): the deploy fails, exit 1; the new master runs the last ready release`, async (t) => {
    const { box, port, master, release } = await serving(t, start, env);
    const oldMaster = master();
    const oldWorkers = descendants(oldMaster);
    release(next);
    const deploy = box.spawn(['deploy'], { GREETING: 'v2', ...env });
    await waitFor(`${after} in naught.log`, () => count(log(box), after) >= times);
    process.kill(oldMaster, 'SIGKILL');
    const result = await deploy.exited;
    t.equal(result.code, 1, 'the deploy fails');
    t.match(result.stderr, new RegExp(`The master process ${oldMaster} died during a deploy: the deploy failed, and the new master runs the last release that was ready\\.\\n$`));
    await waitFor('the new master to be ready', async () => (await box.naught(['status'])).stdout === 'workers online: 2\n', 15_000);
    t.equal((await get(port)).greeting, 'v1', 'the release that was ready, not the failed one');
    await waitFor('no worker of the killed master left', () => oldWorkers.every((pid) => !isAlive(pid)));
    t.match(log(box), `The master process ${oldMaster} died (signal SIGKILL); starting a new master.`);
    // The daemon still deploys: the next one reaches v2.
    release('hello-server.cjs');
    t.equal((await box.naught(['deploy'], { GREETING: 'v2' })).code, 0);
    t.equal((await get(port)).greeting, 'v2');
  });
}

/** SIGSTOPs a master; SIGKILLs it when the test ends, whatever happened. */
function stopMaster(t: Test, pid: number): void {
  process.kill(pid, 'SIGSTOP');
  t.teardown(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } });
}

/** The daemon gives up on the stopped master within `withinMs`, and a new master serves. */
async function replaced(box: Sandbox, stopped: number, withinMs: number): Promise<void> {
  await waitFor('the daemon to give up on the master', () => log(box).includes(`The master process ${stopped} stopped answering for 5000 ms; killing it.`), withinMs);
  await waitFor('a new master to be ready', async () => (await box.naught(['status'])).stdout === 'workers online: 2\n', 15_000);
}

t.test('SIGSTOP the master: the daemon notices through the heartbeat, replaces it, and leaves none of its workers', async (t) => {
  const { box, master } = await serving(t, 'hello-server.cjs');
  const stopped = master();
  const workers = descendants(stopped);
  stopMaster(t, stopped);
  await replaced(box, stopped, 15_000);
  t.notOk(isAlive(stopped), 'the stopped master is gone');
  await waitFor('its workers to be gone', () => workers.every((pid) => !isAlive(pid)));
  t.not(master(), stopped);
});

// After twice timeoutMs (10 s) without work the daemon pings its master only every 30 s, so that an
// idle naught wakes nobody (src/supervision/constants.ts). Work wakes the heartbeat: a command for the
// master, or connections the master hands off (it stirs the link); both are shown here
// finding a master stopped after such a quiet spell within the busy bound, not 30 s later.
// (A /livez probe does too: test/e2e/health.test.ts.)
const QUIET_MS = 11_000;

// Both wait out the same quiet spell, each with a naught of its own: side by side.
t.test('after a quiet spell', { jobs: 2 }, async (quiet) => {
  quiet.test('SIGSTOP an idle master, then ask for a report: the command wakes the heartbeat and the master is replaced', async (t) => {
    const { box, master } = await serving(t, 'hello-server.cjs');
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const stopped = master();
    stopMaster(t, stopped);
    const report = await box.naught(['status', '--json']);
    t.equal(JSON.parse(report.stdout).pool, null, 'the report comes without the stopped master\'s part');
    await replaced(box, stopped, 12_000);
  });

  quiet.test('a master serving new connections keeps the heartbeat busy: stopped mid-traffic after a quiet spell, it is replaced as fast', async (t) => {
    const { box, port, master } = await serving(t, 'hello-server.cjs');
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const stopped = master();
    // New connections only: each is accepted by the master and handed to a worker.
    const until = Date.now() + 3_000;
    while (Date.now() < until) await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } }).then((res) => res.text());
    stopMaster(t, stopped);
    await replaced(box, stopped, 12_000);
  });
});

t.test('kill -9 the daemon mid-deploy: the deploy says so, the master stops its workers, the next start recovers', async (t) => {
  const { box, port, daemon, master, release } = await serving(t, 'hello-server.cjs');
  const oldMaster = master();
  release('boots-slowly.cjs');
  const deploy = box.spawn(['deploy'], { BOOT_MS: '3000' });
  await waitFor('the deploy to begin', () => count(log(box), 'SpawnNew.') >= 4);
  const everyone = [oldMaster, ...descendants(oldMaster)];
  process.kill(daemon, 'SIGKILL');
  const result = await deploy.exited;
  t.equal(result.code, 1);
  t.match(result.stderr, /the daemon closed the connection before answering\n$/);
  await waitFor('the master and every worker to exit', () => everyone.every((pid) => !isAlive(pid)), 15_000);
  release('hello-server.cjs');
  const again = await box.naught(['start', '--worker-count', '2', 'server.cjs'], { PORT: String(port) });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stderr, `removing stale ipc-file \`naught.ipc\`: its daemon (pid ${daemon}) is gone\n`);
});
