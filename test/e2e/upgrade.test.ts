// `naught upgrade`: from one build of naught to another with a different version, under
// keep-alive and new-connection load, with the health endpoint probed all the while.
import t, { type Test as TapTest } from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fixture, repoRoot } from '../helpers/paths.js';
import { descendants, freePort, isAlive, masterOf, Sandbox, waitFor } from '../helpers/naught.js';
import { notifySocket } from '../helpers/notify-socket.js';
import { startLoad } from '../helpers/load.js';

const VERSION = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const NEXT = `${VERSION}-next`;

/** A second install of naught: this build's dist under another version, or with one file broken. */
function build(t: TapTest, version: string, broken: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-build-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(path.join(repoRoot, 'dist/src'), path.join(dir, 'dist/src'), { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...pkg, version }));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  for (const [file, text] of Object.entries(broken)) fs.writeFileSync(path.join(dir, 'dist/src', file), text);
  return path.join(dir, 'dist/src/bin/naught.js');
}

/** GET /readyz on a new connection every 20 ms; the statuses it got, and the errors. */
function probeReadiness(port: number) {
  const seen = { ok: 0, other: [] as string[] };
  let running = true;
  const loop = (async () => {
    while (running) {
      await new Promise<void>((resolve) => {
        http.get({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 5000 }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => { body += chunk; });
          res.on('end', () => {
            if (res.statusCode === 200) seen.ok++;
            else seen.other.push(`HTTP ${res.statusCode} ${body.trim()}`);
            resolve();
          });
        }).on('error', (error) => { seen.other.push(error.message); resolve(); });
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return { async stop() { running = false; await loop; return seen; } };
}

const pidsOf = (box: Sandbox) => {
  const daemon = box.daemonPid()!;
  return { daemon, master: masterOf(box), all: [daemon, ...descendants(daemon)] };
};

const upgradeLines = (from: string, to: string, oldPid: number, newPid: number, entry: string) => [
  `Upgrading: naught ${from} (pid ${oldPid}) starts naught from ${entry} (pid ${newPid}), which boots a full set of workers.`,
  'SpawnNew. booting: 1, online: 2, dying: 0, new_online: 0',
  'SpawnNew. booting: 2, online: 2, dying: 0, new_online: 0',
  'NewOnline. booting: 1, online: 2, dying: 0, new_online: 1',
  'NewOnline. booting: 0, online: 2, dying: 0, new_online: 2',
  `Upgrading: naught ${to} (pid ${newPid}) answers on the control socket now; the old workers drain.`,
  'ShutdownOld. booting: 0, online: 1, dying: 1, new_online: 2',
  'ShutdownOld. booting: 0, online: 0, dying: 2, new_online: 2',
  'OldExit. booting: 0, online: 0, dying: 1, new_online: 2',
  'OldExit. booting: 0, online: 0, dying: 0, new_online: 2',
  'Ready. booting: 0, online: 2, dying: 0, new_online: 0',
  `upgraded naught ${from} -> ${to}`,
].map((line) => line + '\n').join('');

t.test('upgrade under load: 0 failed requests, readiness never lost, the new version answers, nothing of the old is left', async (t) => {
  const box = new Sandbox(t);
  const next = build(t, NEXT);
  const [port, healthPort] = [await freePort(), await freePort()];
  const start = await box.naught(['start', '--worker-count', '2', '--listen', `http=127.0.0.1:${port}`, '--health', `127.0.0.1:${healthPort}`, fixture('helper/activated.mjs')]);
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naughtFrom(next, ['stop', '--timeout', '1']));
  const old = pidsOf(box);
  t.equal(old.all.length, 4, 'daemon, master and 2 workers');

  const keepAlive = startLoad({ port, keepAlive: true, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 });
  const fresh = startLoad({ port, keepAlive: false, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 });
  const readiness = probeReadiness(healthPort);
  // `naught status` one after another throughout: each is answered by the old daemon, or,
  // once it has handed over, passed on to the new one; never by a daemon that is stopping.
  const statuses: Array<{ code: number | null; stdout: string; stderr: string }> = [];
  let asking = true;
  const asker = (async () => {
    while (asking) {
      const run = await box.naughtFrom(next, ['status']);
      statuses.push(run);
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  // In flight on an old worker at the hand-over: the old daemon lives on until it is
  // answered, passing on what it accepts meanwhile.
  const slow = fetch(`http://127.0.0.1:${port}/wait/2500`, { headers: { connection: 'close' } });
  const upgrade = await box.naughtFrom(next, ['upgrade']);
  t.match(await (await slow).json(), { pid: Number }, 'the request in flight on an old worker is answered');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const [kept, opened, probed] = [await keepAlive.stop(), await fresh.stop(), await readiness.stop()];
  asking = false;
  await asker;

  const now = pidsOf(box);
  t.same(upgrade, { code: 0, stdout: '', stderr: upgradeLines(VERSION, NEXT, old.daemon, now.daemon, path.join(path.dirname(next), 'daemon.js')) });
  t.same(kept.failures, [], `0 failed of ${kept.ok} keep-alive requests (${kept.retried} retried on a closed keep-alive socket, as HTTP/1.1 clients must)`);
  t.same(opened.failures, [], `0 failed of ${opened.ok} requests on new connections`);
  t.ok(kept.ok > 100 && opened.ok > 100, 'both loads ran through the upgrade');
  t.same(probed.other, [], `/readyz answered 200 to all ${probed.ok} probes, on the old daemon and then the new`);
  // A client connected while the upgrade tells its progress hears it on stderr, as every
  // client hears a deploy's events; the answer itself must not change.
  const broadcast = /^(Upgrading: .*|Upgraded: .*|\w+\. booting: \d+, online: \d+, dying: \d+, new_online: \d+)$/;
  const odd = statuses.filter((s) => s.code !== 0 || s.stdout !== 'workers online: 2\n' || !s.stderr.split('\n').every((line) => line === '' || broadcast.test(line)));
  t.same(odd, [], `all ${statuses.length} status calls during the upgrade: workers online: 2`);

  t.not(now.daemon, old.daemon, 'the pid file names the new daemon');
  t.equal((await box.naughtFrom(next, ['version'])).stdout, `${NEXT}\n`);
  const report = JSON.parse((await box.naughtFrom(next, ['status', '--json'])).stdout) as { daemon: { version: string; pid: number }; workers: { generation: number }[] };
  t.equal(report.daemon.version, NEXT, 'status --json: the new daemon answers');
  t.equal(report.daemon.pid, now.daemon);
  t.same(report.workers.map((w) => w.generation), [1, 1], 'the same release: its generation is kept');
  await waitFor('the old daemon, master and workers gone', () => old.all.every((pid) => !isAlive(pid)));
  t.equal(now.all.length, 4, 'the new daemon, its master and 2 workers');
  t.same((await box.naughtFrom(next, ['status'])).stdout, 'workers online: 2\n');
  t.match(await (await fetch(`http://127.0.0.1:${port}/`)).json(), { worker: /^[01]$/ });
  const log = fs.readFileSync(box.path('naught.log'), 'utf8');
  t.match(log, `Upgrading: naught ${NEXT} (pid ${now.daemon}) answers on the control socket now; the old workers drain.\n`, 'naught.log tells it');
  t.match(log, `Shutdown. booting: 0, online: 0, dying: 0, new_online: 0\nUpgraded: naught ${VERSION} (pid ${old.daemon}) exits; naught ${NEXT} (pid ${now.daemon}) runs the workers.\n`, "the old daemon's Shutdown is followed by what it means");

  // The new daemon runs as the old did: deploys, and a stop that removes its files.
  t.equal((await box.naughtFrom(next, ['deploy'])).code, 0);
  t.same(await box.naughtFrom(next, ['stop']), { code: 0, stdout: '', stderr: 'ShutdownOld. booting: 0, online: 1, dying: 1, new_online: 0\nShutdownOld. booting: 0, online: 0, dying: 2, new_online: 0\nOldExit. booting: 0, online: 0, dying: 1, new_online: 0\nOldExit. booting: 0, online: 0, dying: 0, new_online: 0\n' });
  t.notOk(fs.existsSync(box.path('naught.ipc')) || fs.existsSync(box.path('naught.pid')), 'the ipc and pid files are gone');
});

t.test('without sockets naught holds, upgrade refuses and says what to add; a daemon that cannot boot leaves the old one running', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const next = build(t, NEXT);
  t.equal((await box.naught(['start', '--worker-count', '2', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const daemon = box.daemonPid();
  t.same(await box.naughtFrom(next, ['upgrade']), {
    code: 1, stdout: '',
    stderr: 'naught upgrade: this naught holds no listening sockets, so the port would refuse connections while the old workers close and the new ones bind. ' +
      "Start naught with --listen ADDR (or under systemd socket activation) and serve with naught/worker's listen(server).\n",
  });
  t.equal(box.daemonPid(), daemon);
  t.same((await box.naught(['status'])).stdout, 'workers online: 2\n');
  t.same(await box.naughtFrom(next, ['upgrade', 'elsewhere.ipc']), { code: 1, stdout: '', stderr: 'server not running\n' });
});

t.test('upgrade will not run a naught that another user could have changed: a folder on its path others may write', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const next = build(t, NEXT);
  const folder = path.resolve(next, '../../../..');
  fs.chmodSync(folder, 0o777);
  const start = await box.naught(['start', '--listen', `http=127.0.0.1:${port}`, fixture('helper/activated.mjs')]);
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const daemon = box.daemonPid();
  const entry = path.join(folder, 'dist/src/bin/daemon.js');
  t.same(await box.naughtFrom(next, ['upgrade']), {
    code: 1, stdout: '', stderr: `naught upgrade: will not run ${entry}: the folder ${folder} may be written by others (mode 777)\n`,
  });
  t.equal(box.daemonPid(), daemon, 'the old daemon runs on');
});

t.test('a new naught whose master dies before its workers are online: exit 1, the old daemon and workers serve on', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const broken = build(t, NEXT, { 'bin/master.js': 'process.exit(7);\n' });
  t.equal((await box.naught(['start', '--worker-count', '2', '--listen', `http=127.0.0.1:${port}`, fixture('helper/activated.mjs')])).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const old = pidsOf(box);
  const load = startLoad({ port, keepAlive: false, concurrency: 2, maxRequests: 1e9, maxMs: 60_000 });
  const run = await box.naughtFrom(broken, ['upgrade']);
  const served = await load.stop();
  t.equal(run.code, 1);
  const newPid = /\(pid (\d+)\), which boots/.exec(run.stderr)?.[1];
  t.match(run.stderr, `naught upgrade: the new daemon (pid ${newPid}) exited before its workers were online: The master process `);
  t.match(run.stderr, `died (exit code 7) before the new workers were online. naught ${VERSION} runs on, unchanged.\n`);
  t.same(served.failures, [], `0 failed of ${served.ok}`);
  await waitFor('the new daemon gone', () => !isAlive(Number(newPid)));
  t.same(pidsOf(box), old, 'the same daemon, master and workers');
  t.same((await box.naught(['status'])).stdout, 'workers online: 2\n');
  t.ok(fs.existsSync(box.path('naught.ipc')), 'the control socket is still there');
  // The old daemon can still be upgraded, to a build that works.
  const next = build(t, NEXT);
  t.equal((await box.naughtFrom(next, ['upgrade'])).code, 0);
  t.equal((await box.naught(['status'])).stdout, 'workers online: 2\n');
});

t.test('Ctrl+C on upgrade before the hand-over stops the new daemon; the old one serves on', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const next = build(t, NEXT);
  t.equal((await box.naught(['start', '--worker-count', '2', '--listen', `http=127.0.0.1:${port}`, fixture('helper/activated.mjs')], { BOOT_MS: '3000' })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const old = pidsOf(box);
  const upgrade = spawn(process.execPath, [next, 'upgrade'], { cwd: box.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  box.track(upgrade.pid!);
  let stderr = '';
  upgrade.stderr.on('data', (d: Buffer) => { stderr += d; });
  await waitFor('the new workers spawned', () => stderr.includes('SpawnNew. booting: 2, online: 2'));
  const newPid = Number(/\(pid (\d+)\), which boots/.exec(stderr)?.[1]);
  const newAll = [newPid, ...descendants(newPid)];
  t.equal(newAll.length, 4, 'the new daemon, its master and 2 booting workers');
  upgrade.kill('SIGINT');
  await waitFor('the new daemon and its workers gone', () => newAll.every((pid) => !isAlive(pid))).catch((error: Error) => {
    t.comment(newAll.filter(isAlive).map((pid) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).join('\n'), fs.readFileSync(box.path('naught.log'), 'utf8'));
    throw error;
  });
  t.same(pidsOf(box), old, 'the same daemon, master and workers');
  t.match(fs.readFileSync(box.path('naught.log'), 'utf8'), 'Upgrading: the command that asked went away before the new workers were online; the new daemon is stopped (its workers get 5 s to drain).\n');
  t.same((await box.naught(['status'])).stdout, 'workers online: 2\n');
  t.match(await (await fetch(`http://127.0.0.1:${port}/`)).json(), { worker: /^[01]$/ });
});

t.test('under systemd (foreground, NOTIFY_SOCKET): the old daemon names the new one MAINPID, which says it is ready; the old process exits 0', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const next = build(t, NEXT);
  const { received, phases, path: notifyPath } = notifySocket(box, t);
  const naught = box.spawn(['start', '--daemon-mode', 'false', '--worker-count', '2', '--listen', `http=127.0.0.1:${port}`, fixture('helper/activated.mjs')],
    { NOTIFY_SOCKET: notifyPath, WATCHDOG_USEC: '1000000' });
  await waitFor('READY=1', () => received.includes('READY=1'));
  t.teardown(() => box.naughtFrom(next, ['stop', '--timeout', '1']));
  // Its stdout and stderr (the journal, under systemd) stay open: the new daemon writes to them too.
  const exited = new Promise((resolve) => naught.once('exit', resolve));
  const load = startLoad({ port, keepAlive: true, concurrency: 2, maxRequests: 1e9, maxMs: 60_000 });
  const run = await box.naughtFrom(next, ['upgrade']);
  t.equal(run.code, 0, run.stderr);
  t.equal(await exited, 0, 'the old foreground daemon exits 0 once its workers are gone');
  // The new daemon writes the pid file once told it has the sockets; under load that can
  // come after the old one has exited (seen once in eleven runs of the whole suite).
  const newPid = await waitFor('the pid file to name the new daemon', () => { const pid = box.daemonPid(); return pid !== naught.pid ? pid : null; });
  await waitFor('the new daemon ready', () => received.includes(`MAINPID=${newPid}\nREADY=1`));
  const count = received.filter((m) => m === 'WATCHDOG=1').length;
  await waitFor('the new daemon feeds the watchdog', () => received.filter((m) => m === 'WATCHDOG=1').length > count + 2);
  const served = await load.stop();
  t.same(served.failures, [], `0 failed of ${served.ok}`);
  t.same(phases(), ['READY=1', `MAINPID=${newPid}`, `MAINPID=${newPid}\nREADY=1`], 'MAINPID from the old main process (NotifyAccess=main), then the new one says it again with READY=1');
});
