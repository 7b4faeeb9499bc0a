// `start --listen`: sockets the daemon binds and holds, served by every worker through
// naught/worker's listen(), through deploys and a master's death.
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import { fixture } from '../helpers/paths.js';
import { freePort, masterOf, Sandbox, waitFor } from '../helpers/naught.js';
import { startLoad } from '../helpers/load.js';

t.test('the daemon holds the socket: a deploy loses no connection, a master killed -9 refuses none', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', '--listen', `http=127.0.0.1:${port}`, fixture('helper/activated.mjs')]);
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.match(await (await fetch(`http://127.0.0.1:${port}/`)).json(), { worker: /^[01]$/ });

  const load = startLoad({ port, keepAlive: false, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 });
  t.equal((await box.naught(['deploy'])).code, 0);
  const deployed = await load.stop();
  t.same(deployed.failures, [], `0 failed of ${deployed.ok} new connections across a deploy`);

  // A master killed -9 takes its workers with it (Node ends a worker whose channel closes):
  // they lose what they held, but the socket stays open, and connections wait for the next.
  const again = startLoad({ port, keepAlive: false, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 });
  const master = masterOf(box);
  process.kill(master, 'SIGKILL');
  await waitFor('a new master serving', async () => masterOf(box) !== master && (await box.naught(['status'])).stdout === 'workers online: 2\n');
  const afterKill = await again.stop();
  t.ok(afterKill.failures.length <= 4, `only requests the dying workers held failed (${afterKill.failures.length} of ${afterKill.ok + afterKill.failures.length})`);
  t.ok(afterKill.failures.every((f) => f.reason !== 'connect ECONNREFUSED 127.0.0.1:' + port), 'never refused: the daemon held the socket');
  t.match(await (await fetch(`http://127.0.0.1:${port}/`)).json(), { worker: /^[01]$/ }, 'the new workers serve on it');
});

t.test('an address in use fails the start with the reason; a bad one prints the help', async (t) => {
  const box = new Sandbox(t);
  const taken = await freePort();
  const squatter = http.createServer().listen(taken, '127.0.0.1');
  t.teardown(() => squatter.close());
  await new Promise((resolve) => squatter.once('listening', resolve));
  const run = await box.naught(['start', '--listen', `127.0.0.1:${taken}`, fixture('helper/activated.mjs')]);
  t.same(run, { code: 1, stdout: '', stderr: `unable to start daemon: cannot --listen on 127.0.0.1:${taken}: the address is in use\n` });
  t.notOk(fs.existsSync(box.path('naught.pid')), 'nothing is left running');
  const help = (await box.naught(['help', 'start'])).stdout;
  t.same(await box.naught(['start', '--listen', 'nowhere', fixture('helper/activated.mjs')]), {
    code: 1, stdout: '', stderr: help + 'naught start: --listen "nowhere" is not accepted: [NAME=]HOST:PORT, [NAME=]:PORT or [NAME=]unix:PATH\n',
  });
});
