// 'offline' on sockets the workers accept on themselves (`start --listen`, systemd socket
// activation): the worker that says it takes no new connection from the shared queue,
// finishes what it holds, and exits by itself.
import t, { type Test } from 'tap';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fixture, naughtBin } from '../helpers/paths.js';
import { freePort, isAlive, readText, Sandbox, waitFor } from '../helpers/naught.js';

interface Answer { pid: number; connection: string | undefined }

/** One request; `agent` keeps one connection for many (maxSockets 1), none opens a new one. */
function ask(port: number, path = '/', agent?: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: agent ?? false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        resolve({ pid: (JSON.parse(body) as { pid: number }).pid, connection: res.headers.connection });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const oneConnection = () => new http.Agent({ keepAlive: true, maxSockets: 1 });

/**
 * Two kept connections to one worker: a slow request on the first, 'offline' on the second,
 * then 50 new connections over every port.
 */
async function goOffline(t: Test, box: Sandbox, ports: number[]): Promise<void> {
  const agents = Array.from({ length: 8 }, oneConnection);
  t.teardown(() => { for (const agent of agents) agent.destroy(); });
  const byPid = new Map<number, http.Agent[]>();
  for (const agent of agents) {
    const { pid } = await ask(ports[0]!, '/', agent);
    byPid.set(pid, [...(byPid.get(pid) ?? []), agent]);
  }
  const [pid, [slowAgent, offlineAgent]] = [...byPid].find(([, held]) => held.length >= 2)!;
  const slow = ask(ports[0]!, '/wait/3000', slowAgent);
  t.equal((await ask(ports[0]!, '/offline', offlineAgent!)).pid, pid, 'the offline answer comes from the worker that said it');

  const fresh: Answer[] = [];
  for (let batch = 0; batch < 5; batch++) {
    fresh.push(...await Promise.all(Array.from({ length: 10 }, (_, i) => ask(ports[i % ports.length]!))));
  }
  t.equal(fresh.length, 50);
  t.same(fresh.filter((answer) => answer.pid === pid), [], `0 of 50 new connections reached the offline worker ${pid}`);

  t.same(await slow, { pid, connection: 'close' }, 'its slow in-flight request still answers, with Connection: close');
  await waitFor('the offline worker to exit by itself', () => readText(box.path('stdout.log')).includes(`worker ${pid} exits by itself\n`) && !isAlive(pid));
  t.equal(readText(box.path('naught.log')).match(/WorkerOffline\./g)?.length, 1, "naught.log tells one 'offline', as naught 1.6 did");
}

t.test("--listen: after 'offline' the worker takes no new connection, finishes its slow request and exits by itself", async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', '--timeout', '30', '--listen', `http=127.0.0.1:${port}`, fixture('helper/goes-offline.mjs')]);
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await goOffline(t, box, [port]);
  t.equal((await box.naught(['status'])).stdout, 'workers online: 2\n', 'its replacement serves');
});

t.test("two held sockets in one worker, and 'offline' said twice: neither socket brings it a new connection", async (t) => {
  const box = new Sandbox(t);
  const ports = [await freePort(), await freePort()];
  const start = await box.naught(['start', '--worker-count', '2', '--timeout', '30', '--listen', `a=127.0.0.1:${ports[0]}`, '--listen', `b=127.0.0.1:${ports[1]}`,
    fixture('helper/goes-offline.mjs')], { OFFLINE_TIMES: '2' });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await goOffline(t, box, ports);
});

t.test("under systemd-socket-activate: after 'offline' the worker takes no new connection from the activated socket", async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const activator = spawn('systemd-socket-activate', ['-l', `127.0.0.1:${port}`, '--fdname=http',
    process.execPath, naughtBin, 'start', '--daemon-mode', 'false', '--worker-count', '2', '--timeout', '30', fixture('helper/goes-offline.mjs')],
  { cwd: box.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  box.track(activator.pid!);
  let stderr = '';
  activator.stderr.on('data', (d: Buffer) => { stderr += d; });
  await waitFor('the socket', () => stderr.includes(`Listening on 127.0.0.1:${port} as 3.`));
  await ask(port); // the first connection starts naught
  await waitFor('two workers online', async () => (await box.naught(['status'])).stdout === 'workers online: 2\n');
  await goOffline(t, box, [port]);
  activator.kill('SIGTERM');
  await new Promise((resolve) => activator.once('close', resolve));
  t.equal(activator.exitCode, 0);
});
