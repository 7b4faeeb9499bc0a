import t, { type Test } from 'tap';
import fs from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { startLoad, type Load, type LoadResult } from '../helpers/load.js';
import { freePort, get, Sandbox, waitFor } from '../helpers/naught.js';

const LOAD = { concurrency: 6, maxRequests: 200_000, maxMs: 60_000 };

function release(box: Sandbox, name: string): void {
  fs.rmSync(box.path('server.cjs'), { force: true });
  fs.symlinkSync(fixture(name), box.path('server.cjs'));
}

async function serving(t: Test) {
  const box = new Sandbox(t);
  const port = await freePort();
  release(box, 'hello-server.cjs');
  t.equal((await box.naught(['start', '--worker-count', '2', 'server.cjs'], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const loads: Load[] = [
    startLoad({ port, keepAlive: true, ...LOAD }),
    startLoad({ port, keepAlive: false, ...LOAD }),
  ];
  return { box, port, loads };
}

function report(t: { comment(...a: unknown[]): void }, name: string, r: LoadResult): void {
  t.comment(`${name}: ${r.ok} ok, ${r.failures.length} failed, ${r.retried} keep-alive retries`);
}

t.test('no request fails during 3 deploys under keep-alive and new-connection load', async (t) => {
  const { box, loads } = await serving(t);
  for (let i = 0; i < 3; i++) {
    const deploy = await box.naught(['deploy']);
    t.equal(deploy.code, 0, `deploy ${i + 1}`);
  }
  const [keepAlive, fresh] = await Promise.all(loads.map((l) => l.stop()));
  report(t, 'keep-alive', keepAlive!);
  report(t, 'new connection', fresh!);
  t.same(keepAlive!.failures, [], 'keep-alive: every request succeeded');
  t.same(fresh!.failures, [], 'new connection per request: every request succeeded');
  t.ok(keepAlive!.ok > 100 && fresh!.ok > 100, 'load really ran');
  // The one retry HTTP/1.1 allows (RFC 9112 §9.3.1): at most once per connection per deploy,
  // for the idle connection a drain closes just as a request leaves on it.
  t.ok(keepAlive!.retried <= LOAD.concurrency * 3, `keep-alive retries within one per connection per deploy (${keepAlive!.retried})`);
  t.equal(fresh!.retried, 0, 'a new connection per request is never retried');
});

t.test('a worker killed with SIGKILL loses only what it had in flight; a bad deploy loses nothing', async (t) => {
  const { box, port, loads } = await serving(t);
  const victim = await waitFor('worker 1', () => get(port).then((r) => (r.worker === '1' ? r : null)));
  const killedAt = Date.now();
  process.kill(victim.pid, 'SIGKILL');
  await waitFor('the replacement', () => fs.readFileSync(box.path('naught.log'), 'utf8').includes('WorkerOnline'));
  const recoveredAt = Date.now();

  release(box, 'crash-before-online.cjs');
  const badAt = Date.now();
  const bad = await box.naught(['deploy']);
  const goodAt = Date.now();
  t.equal(bad.code, 1, 'the bad release is rolled back');
  release(box, 'hello-server.cjs');
  t.equal((await box.naught(['deploy'])).code, 0, 'a good release after it lands');

  const [keepAlive, fresh] = await Promise.all(loads.map((l) => l.stop()));
  report(t, 'keep-alive', keepAlive!);
  report(t, 'new connection', fresh!);
  t.comment(`timeline: kill ${killedAt}, replaced ${recoveredAt}, bad deploy ${badAt}, good deploy ${goodAt}; failures sent at ${[...keepAlive!.failures, ...fresh!.failures].map((f) => f.at)}`);
  for (const [name, r] of [['keep-alive', keepAlive!], ['new connection', fresh!]] as const) {
    // In flight at the kill means sent shortly before it; nothing sent after the replacement may fail.
    const outside = r.failures.filter((f) => f.at < killedAt - 1000 || f.at > recoveredAt);
    t.same(outside, [], `${name}: no failure outside the kill window (bad deploy included)`);
    t.ok(r.failures.length <= LOAD.concurrency, `${name}: at most the ${LOAD.concurrency} requests in flight failed (${r.failures.length})`);
  }
});
