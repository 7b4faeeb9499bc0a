// naught.log as naught 1.6 wrote it: the same lifecycle (start, status, deploy, a worker's
// 'offline', stop) under naught 1.6.0 on Node 8 and under naught, and the two files compared
// whole. With naught 1.6's flags, naught writes no line naught 1.6 did not.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fixture, naughtBin, repoRoot } from '../helpers/paths.js';
import { freePort, get, isAlive, readText, Sandbox, waitFor } from '../helpers/naught.js';
import { node8 } from '../helpers/node-lines.js';

const NAUGHT_16 = path.join(repoRoot, 'node_modules/naught/lib/main.js');

function run(node: string, cli: string, cwd: string, args: string[], env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => {
    // Without the NODE_OPTIONS (--import) the test runner adds to every child, which Node 8 refuses (exit 9).
    execFile('env', ['-u', 'NODE_OPTIONS', node, cli, ...args], { cwd, env: { ...process.env, ...env }, timeout: 60_000 }, (error) => {
      resolve(error ? (typeof error.code === 'number' ? error.code : null) : 0);
    });
  });
}

/** The lifecycle, driven by events: returns naught.log once the daemon is gone. */
async function lifecycle(t: Test, node: string, cli: string): Promise<string> {
  const box = new Sandbox(t);
  const port = await freePort();
  const env = { PORT: String(port) };
  const naught = (...args: string[]) => run(node, cli, box.dir, args, env);
  const log = () => readText(box.path('naught.log'));
  t.teardown(() => { if (box.daemonPid()) return naught('stop', '--timeout', '1'); });
  t.equal(await naught('start', '--worker-count', '2', fixture('offline-on-request.cjs')), 0, 'start');
  t.equal(await naught('status'), 0, 'status');
  t.equal(await naught('deploy'), 0, 'deploy');
  const offline = await get(port, undefined, '/offline');
  await waitFor('the replacement online', () => log().includes('WorkerOnline.'));
  process.kill(offline.pid, 'SIGUSR2');
  await waitFor('the offline worker gone', () => log().includes('WorkerDeath.') && !isAlive(offline.pid));
  t.equal(await naught('stop'), 0, 'stop');
  await waitFor('the daemon gone', () => !fs.existsSync(box.path('naught.pid')) && log().includes('Shutdown.'));
  return log();
}

t.test("naught.log of a start, status, deploy, 'offline' and stop holds exactly naught 1.6's lines", async (t) => {
  const original = await lifecycle(t, node8(), NAUGHT_16);
  const ours = await lifecycle(t, process.execPath, naughtBin);
  t.equal(original.split('\n').length, 27, 'naught 1.6 wrote the whole story');
  t.equal(ours, original, 'the same file, byte for byte');
});
