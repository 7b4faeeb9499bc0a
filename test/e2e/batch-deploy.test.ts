// `deploy --batch-size N`: N workers replaced at a time, count + N at most, no request
// lost; a batch that fails takes every worker back to the old release.
import t from 'tap';
import { fixture } from '../helpers/paths.js';
import { descendants, freePort, get, masterOf, Sandbox } from '../helpers/naught.js';
import { startLoad } from '../helpers/load.js';

/** The most worker processes seen at once while `during` runs, sampled every 10 ms. */
async function peakWorkers<T>(box: Sandbox, during: Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = 0;
  let done = false;
  const sampling = (async () => {
    while (!done) {
      peak = Math.max(peak, descendants(masterOf(box)).length);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const result = await during;
  done = true;
  await sampling;
  return { peak, result };
}

t.test('8 workers at batch size 2 under keep-alive and new-connection load: at most 10 at once, 0 failed requests', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const env = { PORT: String(port) };
  t.equal((await box.naught(['start', '--worker-count', '8', fixture('hello-server.cjs')], { ...env, GREETING: 'old' })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const loads = [
    startLoad({ port, keepAlive: true, concurrency: 8, maxRequests: 1e9, maxMs: 120_000 }),
    startLoad({ port, keepAlive: false, concurrency: 4, maxRequests: 1e9, maxMs: 120_000 }),
  ];
  const { peak, result: deploy } = await peakWorkers(box, box.naught(['deploy', '--batch-size', '2'], { ...env, GREETING: 'new' }));
  t.equal(deploy.code, 0, deploy.stderr);
  t.match(deploy.stderr, /done\n$/);
  t.equal(deploy.stderr.split('\n').filter((l) => l.startsWith('SpawnNew.')).length, 8, 'eight new workers');
  t.ok(peak <= 10, `at most count + batch size workers at once (peak ${peak}; all at once would be 16)`);
  t.ok(peak >= 9, `and the batches did overlap old and new (peak ${peak})`);
  const [keepAlive, fresh] = await Promise.all(loads.map((load) => load.stop()));
  for (const [name, result] of [['keep-alive', keepAlive!], ['new connections', fresh!]] as const) {
    t.same(result.failures, [], `${name}: 0 failed of ${result.ok}`);
  }
  t.equal(keepAlive!.retried, 0, 'no keep-alive request needed a retry');
  const replies = await Promise.all(Array.from({ length: 16 }, () => get(port)));
  t.ok(replies.every((r) => r.greeting === 'new'), 'every worker on the new release');
});

t.test('batch 3 fails: the deploy fails at once, and every worker ends on the old release', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const env = { PORT: String(port) };
  t.equal((await box.naught(['start', '--worker-count', '6', fixture('fails-from-slot.cjs')], { ...env, GREETING: 'old' })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const load = startLoad({ port, keepAlive: true, concurrency: 6, maxRequests: 1e9, maxMs: 120_000 });
  const deploy = await box.naught(['deploy', '--batch-size', '2'], { ...env, GREETING: 'new', FAIL_FROM_SLOT: '4' });
  t.equal(deploy.code, 1);
  t.equal(deploy.stdout, "Deploy failed. Check stderr.log and usage of 'online' and 'shutdown' events.\n");
  t.match(deploy.stderr, /NewDeath\. /, 'a worker of batch 3 died');
  const report = JSON.parse((await box.naught(['status', '--json'])).stdout) as { workers: { slot: number; generation: number; state: string }[]; pool: { waitingFor: string | null } };
  t.same(report.workers.map((w) => [w.slot, w.generation, w.state]), [0, 1, 2, 3, 4, 5].map((slot) => [slot, 1, 'online']), 'six workers, all of generation 1');
  t.equal(report.pool.waitingFor, null);
  const replies = await Promise.all(Array.from({ length: 18 }, () => get(port)));
  t.ok(replies.every((r) => r.greeting === 'old'), 'all answering with the old release');
  const result = await load.stop();
  t.same(result.failures, [], `0 failed of ${result.ok} requests meanwhile`);
});
