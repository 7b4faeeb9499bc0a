// Socket activation: systemd (here Debian's systemd-socket-activate, or a holder that
// keeps the socket as systemd does) passes a listening socket; naught hands it to every
// worker, which accepts on it itself through naught/worker's listen().
import t from 'tap';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fixture, naughtBin } from '../helpers/paths.js';
import { freePort, masterOf, Sandbox, waitFor } from '../helpers/naught.js';
import { startLoad } from '../helpers/load.js';

const ask = async (port: number) => (await fetch(`http://127.0.0.1:${port}/`)).json() as Promise<{ worker: string; pid: number }>;

t.test('under systemd-socket-activate: every worker accepts on the socket itself, without the master', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const activator = spawn('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, '--fdname=http',
    process.execPath, naughtBin, 'start', '--daemon-mode', 'false', '--worker-count', '2', fixture('helper/activated.mjs')], { cwd: box.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  box.track(activator.pid!);
  let stderr = '';
  activator.stderr.on('data', (d: Buffer) => { stderr += d; });
  await waitFor('the socket', () => stderr.includes(`Listening on 127.0.0.1:${port} as 3.`));
  // The first connection makes it start naught on the socket; it waits in the backlog meanwhile.
  const first = await ask(port);
  t.match(first, { worker: /^[01]$/ });
  t.equal((await box.naught(['status'])).stdout, 'workers online: 2\n');
  t.notMatch(fs.readFileSync(box.path('stderr.log'), 'utf8'), /EEXIST|Error/, 'no worker failed to listen');

  const master = masterOf(box);
  process.kill(master, 'SIGSTOP');
  try {
    const replies = await Promise.all(Array.from({ length: 8 }, () => ask(port)));
    t.equal(replies.length, 8, 'served with the master stopped: no round-robin through it');
  } finally {
    process.kill(master, 'SIGCONT');
  }
  t.equal((await box.naught(['deploy'])).code, 0, 'a deploy hands the socket to the new workers');
  t.match(await ask(port), { worker: /^[01]$/ });
  activator.kill('SIGTERM'); // it has become naught: the stop
  await new Promise((resolve) => activator.once('close', resolve));
  t.equal(activator.exitCode, 0);
});

t.test('a holder keeps the socket across a full stop and start of naught: 0 failed requests under load', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const holder = spawn('python3', [fixture('socket-holder.py'), String(port), process.execPath, naughtBin, 'start', '--daemon-mode', 'false',
    '--worker-count', '2', fixture('helper/activated.mjs')], { cwd: box.dir, stdio: ['ignore', 'pipe', 'inherit'] });
  box.track(holder.pid!);
  let said = '';
  holder.stdout.on('data', (d: Buffer) => { said += d; });
  const serving = async () => (await box.naught(['status'])).stdout === 'workers online: 2\n';
  await waitFor('naught serving', serving);
  const loads = [
    startLoad({ port, keepAlive: true, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 }),
    startLoad({ port, keepAlive: false, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 }),
  ];
  await new Promise((resolve) => setTimeout(resolve, 300)); // load before the restart
  holder.kill('SIGUSR1');
  t.teardown(() => { if (t.passing()) return; t.comment(said); for (const name of ['naught.log', 'stderr.log']) t.comment(fs.existsSync(box.path(name)) ? fs.readFileSync(box.path(name), 'utf8').slice(-1500) : `no ${name}`); });
  await waitFor('naught stopped and started again', () => (said.match(/^started \d+$/gm) ?? []).length === 2, 30_000);
  t.match(said, /^stopped 0$/m, 'the first naught stopped cleanly');
  await waitFor('serving again', serving);
  const [keepAlive, fresh] = await Promise.all(loads.map((load) => load.stop()));
  for (const [name, result] of [['keep-alive', keepAlive!], ['new connections', fresh!]] as const) {
    t.same(result.failures, [], `${name}: 0 failed of ${result.ok} across the restart`);
  }
  holder.kill('SIGTERM');
  await new Promise((resolve) => holder.once('close', resolve));
  t.equal(holder.exitCode, 0);
});
