// naught as a container's PID 1, the way examples/container/Dockerfile runs it: in a new
// PID namespace (util-linux unshare, as root), foreground, logs on its own stdout.
import t from 'tap';
import fs from 'node:fs';
import { naughtBin, repoRoot } from '../helpers/paths.js';
import { freePort, isAlive, Sandbox, waitFor } from '../helpers/naught.js';
import { childrenOf, nsPid, readyLines, runAsPid1 } from '../helpers/pid1.js';

const root = process.getuid?.() === 0;
t.test('as PID 1: `-` logs reach its stdout, SIGHUP deploys, SIGTERM drains and exits 0', { skip: root ? false : 'unshare --pid needs root' }, async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const container = await runAsPid1(box, [process.execPath, naughtBin, 'start', '--daemon-mode', 'false', '--worker-count', '2',
    '--log', '-', '--stdout', '-', '--stderr', '-', `${repoRoot}/examples/container/server.mjs`], { cwd: box.dir, env: { ...process.env, PORT: String(port) } });
  const naught = container.pid;
  const stdout = container.stdout;
  const stderr = container.stderr;
  const exited = container.exited;
  t.match(nsPid(naught), /^\d+\s+1$/, 'naught is PID 1 of its namespace');
  await waitFor('both workers listening', () => (stdout().match(/^worker \d listening on 127\.0\.0\.1:\d+$/gm) ?? []).length === 2);
  // 'online' follows the listening line: naught's Ready comes a moment after.
  await waitFor("naught.log's Ready on its stderr", () => readyLines(stderr(), 2) === 1);
  t.match(await (await fetch(`http://127.0.0.1:${port}/`)).text(), /^hello from worker \d/);

  process.kill(naught, 'SIGHUP');
  await waitFor('the deploy', () => readyLines(stderr(), 2) === 2);
  t.equal((stdout().match(/listening on/g) ?? []).length, 4, 'the new workers wrote to the same stdout');
  t.match(stderr(), /^OldExit\. booting: 0, online: 0, dying: 0, new_online: 2$/m, 'the old workers drained and went');

  const workers = childrenOf(childrenOf(naught).find((pid) => /master\.js/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')))!);
  t.equal(workers.length, 2);
  process.kill(naught, 'SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
  t.match(stderr(), /Shutdown\. booting: 0, online: 0, dying: 0, new_online: 0\n$/);
  t.ok(workers.every((pid) => !isAlive(pid)), 'no worker left behind');
});
