// naught as a container's PID 1, the way examples/container/Dockerfile runs it: in a new
// PID namespace (util-linux unshare, as root), foreground, logs on its own stdout.
import t from 'tap';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { naughtBin, repoRoot } from '../helpers/paths.js';
import { freePort, isAlive, Sandbox, waitFor } from '../helpers/naught.js';

const childrenOf = (pid: number): number[] => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const nsPid = (pid: number): string => /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';

const root = process.getuid?.() === 0;
t.test('as PID 1: `-` logs reach its stdout, SIGHUP deploys, SIGTERM drains and exits 0', { skip: root ? false : 'unshare --pid needs root' }, async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const args = ['--pid', '--fork', '--mount-proc', process.execPath, naughtBin, 'start', '--daemon-mode', 'false', '--worker-count', '2',
    '--log', '-', '--stdout', '-', '--stderr', '-', `${repoRoot}/examples/container/server.mjs`];
  const container = spawn('unshare', args, { cwd: box.dir, env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  box.track(container.pid!);
  let stdout = '';
  let stderr = '';
  container.stdout.on('data', (d: Buffer) => { stdout += d; });
  container.stderr.on('data', (d: Buffer) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => container.on('close', (code) => resolve(code)));

  const naught = await waitFor('naught inside', () => childrenOf(container.pid!)[0]);
  box.track(naught);
  t.match(nsPid(naught), /^\d+\s+1$/, 'naught is PID 1 of its namespace');
  await waitFor('both workers listening', () => (stdout.match(/^worker \d listening on 127\.0\.0\.1:\d+$/gm) ?? []).length === 2);
  // 'online' follows the listening line: naught's Ready comes a moment after.
  await waitFor("naught.log's Ready on its stderr", () => /^Ready\. booting: 0, online: 2, dying: 0, new_online: 0$/m.test(stderr));
  t.match(await (await fetch(`http://127.0.0.1:${port}/`)).text(), /^hello from worker \d/);

  process.kill(naught, 'SIGHUP');
  await waitFor('the deploy', () => (stderr.match(/^Ready\. booting: 0, online: 2, dying: 0, new_online: 0$/gm) ?? []).length === 2);
  t.equal((stdout.match(/listening on/g) ?? []).length, 4, 'the new workers wrote to the same stdout');
  t.match(stderr, /^OldExit\. booting: 0, online: 0, dying: 0, new_online: 2$/m, 'the old workers drained and went');

  const workers = childrenOf(childrenOf(naught).find((pid) => /master\.js/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')))!);
  t.equal(workers.length, 2);
  process.kill(naught, 'SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
  t.match(stderr, /Shutdown\. booting: 0, online: 0, dying: 0, new_online: 0\n$/);
  t.ok(workers.every((pid) => !isAlive(pid)), 'no worker left behind');
});
