// `start --health`: /livez, /readyz and /status over real HTTP, on TCP and on a unix
// socket, through a boot, deploys under load, a failing deploy, a dead master and a stop.
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { fixture, repoRoot } from '../helpers/paths.js';
import { freePort, masterOf, Sandbox, waitFor } from '../helpers/naught.js';
import { startLoad } from '../helpers/load.js';

interface Probe { status: number; body: Record<string, unknown>; ms: number }

function probe(target: { port: number } | { socketPath: string }, path: string): Promise<Probe> {
  const at = performance.now();
  return new Promise((resolve, reject) => {
    http.get({ ...('port' in target ? { host: '127.0.0.1', port: target.port } : { socketPath: target.socketPath }), path, agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown>, ms: performance.now() - at }));
    }).on('error', reject);
  });
}

// The idle test mostly waits out a quiet spell: it runs beside the busiest one.
t.test('side by side', { jobs: 2 }, async (side) => {
  // After 10 s without work the daemon pings an idle master only every 30 s (src/supervision/constants.ts);
  // each /livez probe asks for a fresh ping, so a prober finds a stopped master within its
  // period plus the 2.5 s a ping may go unanswered, not at the next idle ping.
  side.test('an idle master stopped: /livez probes find it within seconds, and it is replaced', async (t) => {
    const box = new Sandbox(t);
    const socketPath = box.path('health.sock');
    t.equal((await box.naught(['start', '--health', 'unix:health.sock', fixture('hello-server.cjs')], { PORT: String(await freePort()) })).code, 0);
    t.teardown(() => box.naught(['stop', '--timeout', '1']));
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    const master = masterOf(box);
    process.kill(master, 'SIGSTOP');
    t.teardown(() => { try { process.kill(master, 'SIGKILL'); } catch { /* gone */ } });
    const stoppedAt = Date.now();
    // One probe a second, as a prober would.
    const silent = await waitFor('a probe to find the master silent', async () => {
      const answer = await probe({ socketPath }, '/livez');
      if (answer.status === 503) return answer;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return null;
    }, 8_000);
    t.same(silent.body, { live: false, reason: 'the master is not answering' }, `503 after ${Date.now() - stoppedAt} ms of probing`);
    await waitFor('a new master', async () => (await probe({ socketPath }, '/livez')).status === 200 || null, 15_000);
  });

  side.test('readyz follows the pool: 200 once online and through deploys under load, 503 with the reason while a deploy fails and on stop', async (t) => {
    const box = new Sandbox(t);
    const [port, healthPort] = [await freePort(), await freePort()];
    const health = { port: healthPort };
    const env = { PORT: String(port) };
    const start = await box.naught(['start', '--worker-count', '2', '--health', `127.0.0.1:${healthPort}`, fixture('boots-slowly.cjs')], { ...env, BOOT_MS: '0' });
    t.equal(start.code, 0, start.stderr);
    t.teardown(() => box.naught(['stop', '--timeout', '1']));
    t.match(await probe(health, '/readyz'), { status: 200, body: { ready: true, online: 2 } }, 'ready once online');
    t.match(await probe(health, '/livez'), { status: 200, body: { live: true } });

    // Probes every 20 ms through two deploys under load: always 200.
    const load = startLoad({ port, keepAlive: true, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 });
    const seen: Probe[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        seen.push(await probe(health, '/readyz'));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    for (let i = 0; i < 2; i++) t.equal((await box.naught(['deploy'], { ...env, BOOT_MS: '300' })).code, 0);
    probing = false;
    await prober;
    const result = await load.stop();
    t.same(result.failures, []);
    t.ok(seen.length > 10 && seen.every((p) => p.status === 200), `ready all through the deploys (${seen.length} probes)`);
    const sorted = seen.map((p) => p.ms).sort((a, b) => a - b);
    t.comment(`readyz under load and during deploys: p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, p99 ${sorted[Math.ceil(sorted.length * 0.99) - 1]!.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`);

    t.equal((await box.naught(['stop'])).code, 0);
  });
});

t.test('readyz is 503 while a deploy fails: a batch deploy going back to the old release', async (t) => {
  const box = new Sandbox(t);
  const [port, healthPort] = [await freePort(), await freePort()];
  const health = { port: healthPort };
  // The old release boots in 1.5 s: that long, the failed batch deploy waits for its workers to be back.
  const start = await box.naught(['start', '--worker-count', '2', '--health', `127.0.0.1:${healthPort}`, fixture('fails-from-slot.cjs')], { PORT: String(port), BOOT_MS: '1500' });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const deploy = box.spawn(['deploy', '--batch-size', '1'], { PORT: String(port), BOOT_MS: '0', FAIL_FROM_SLOT: '1' });
  await waitFor('the deploy to fail', async () => (await probe(health, '/readyz')).status === 503 || null);
  t.match(await probe(health, '/readyz'), { status: 503, body: { ready: false, reason: 'a deploy is failing', online: 2 } });
  t.equal((await deploy.exited).code, 1);
  t.match(await probe(health, '/readyz'), { status: 200, body: { ready: true, online: 2 } }, 'ready again: the old release serves in every slot');
});

t.test('readyz is 503 as soon as a stop begins, while the workers drain', async (t) => {
  const box = new Sandbox(t);
  const [port, healthPort] = [await freePort(), await freePort()];
  t.equal((await box.naught(['start', '--health', `127.0.0.1:${healthPort}`, fixture('drains-slowly.cjs')], { PORT: String(port), DRAIN_MS: '3000' })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.equal((await probe({ port: healthPort }, '/readyz')).status, 200);
  const stopping = box.spawn(['stop']);
  await waitFor('the stop to begin', () => stopping.output().stderr.includes('ShutdownOld.'));
  t.match(await probe({ port: healthPort }, '/readyz'), { status: 503, body: { ready: false, reason: 'naught is stopping' } }, 'a load balancer takes the host out first');
  t.equal((await stopping.exited).code, 0);
});

t.test('livez says whether the master answers; /status is the status --json document', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const socketPath = box.path('health.sock');
  t.equal((await box.naught(['start', '--health', 'unix:health.sock', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.match(await probe({ socketPath }, '/livez'), { status: 200, body: { live: true } }, 'on a unix socket');
  const status = await probe({ socketPath }, '/status');
  t.equal(status.status, 200);
  const ajv = new Ajv2020({ strict: true });
  (addFormats as unknown as (ajv: Ajv2020) => void)(ajv);
  const validate = ajv.compile(JSON.parse(fs.readFileSync(`${repoRoot}/docs/status.schema.json`, 'utf8')) as object);
  t.ok(validate(status.body), JSON.stringify(validate.errors));
  t.match(status.body, { running: true, pool: { counts: { online: 1 } } });
  t.match(await probe({ socketPath }, '/other'), { status: 404 });

  const master = masterOf(box);
  process.kill(master, 'SIGSTOP');
  t.teardown(() => { try { process.kill(master, 'SIGCONT'); } catch { /* gone */ } });
  await waitFor('the daemon to see the master silent', async () => (await probe({ socketPath }, '/livez')).status === 503 || null, 15_000);
  t.match(await probe({ socketPath }, '/livez'), { status: 503, body: { live: false, reason: 'the master is not answering' } });
  await waitFor('a new master', async () => (await probe({ socketPath }, '/livez')).status === 200 || null, 20_000);
  await waitFor('ready again', async () => (await probe({ socketPath }, '/readyz')).status === 200 || null);

  const stop = box.spawn(['stop']);
  t.equal((await stop.exited).code, 0);
  t.notOk(fs.existsSync(socketPath), 'the health socket is gone with the daemon');
});

t.test('a bad --health is refused with the help; an address in use fails the start with the reason', async (t) => {
  const box = new Sandbox(t);
  const help = (await box.naught(['help', 'start'])).stdout;
  t.same(await box.naught(['start', '--health', 'nowhere', fixture('hello-server.cjs')]), {
    code: 1, stdout: '', stderr: help + 'naught start: --health "nowhere" is not accepted: HOST:PORT, :PORT, PORT or unix:PATH\n',
  });
  const taken = await freePort();
  const squatter = http.createServer().listen(taken, '127.0.0.1');
  t.teardown(() => squatter.close());
  await new Promise((resolve) => squatter.once('listening', resolve));
  const run = await box.naught(['start', '--health', `127.0.0.1:${taken}`, fixture('hello-server.cjs')], { PORT: String(await freePort()) });
  t.same(run, { code: 1, stdout: '', stderr: `unable to start daemon: cannot serve --health on 127.0.0.1:${taken}: the address is in use\n` });
  t.notOk(fs.existsSync(box.path('naught.pid')), 'nothing is left running');
});
