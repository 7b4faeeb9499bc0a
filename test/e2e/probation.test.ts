// `deploy --probation S`: the deploy waits S seconds after done, and a new worker that
// fails meanwhile rolls the release back to the previous generation.
import t, { type Test as TapTest } from 'tap';
import fs from 'node:fs';
import { deployLines, freePort, lines, Sandbox, waitFor } from '../helpers/naught.js';
import { startLoad } from '../helpers/load.js';

const SERVER = (release: string, crashAfterMs?: number) => `const http = require('http');
const server = http.createServer((req, res) => res.end(${JSON.stringify(release)}));
server.listen(Number(process.env.PORT), '127.0.0.1', () => {
  process.send('online');
  ${crashAfterMs === undefined ? '' : `if (process.env.NAUGHT_WORKER === '1') setTimeout(() => { throw new Error('a bug that shows after a while'); }, ${crashAfterMs});`}
});
process.on('message', (message) => { if (message === 'shutdown') server.close(() => process.exit(0)); });
`;

async function started(t: TapTest, second: string) {
  const box = new Sandbox(t);
  const port = await freePort();
  for (const [name, body] of [['r1', SERVER('r1')], ['r2', second]] as const) {
    fs.mkdirSync(box.path('releases', name), { recursive: true });
    fs.writeFileSync(box.path('releases', name, 'server.cjs'), body);
  }
  fs.symlinkSync('releases/r1', box.path('current'));
  const env = { PORT: String(port) };
  t.equal((await box.naught(['start', '--worker-count', '2', '--cwd', 'current', 'current/server.cjs'], env)).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  fs.rmSync(box.path('current'));
  fs.symlinkSync('releases/r2', box.path('current'));
  return { box, env, port, serving: async () => (await fetch(`http://127.0.0.1:${port}/`)).text() };
}

t.test('a release that holds for the probation: done, then probation passed', async (t) => {
  const { box, env, port, serving } = await started(t, SERVER('r2'));
  const load = startLoad({ port, keepAlive: true, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 });
  t.same(await box.naught(['deploy', '--probation', '1', '--cwd', 'current'], env), { code: 0, stdout: '', stderr: lines(...deployLines(2), 'done', 'probation passed') });
  const during = await load.stop();
  t.same(during.failures, [], `no request lost (${during.ok} requests)`);
  t.equal(await serving(), 'r2');
});

t.test('a new worker that crashes during the probation rolls the release back: exit 1, the old release serves', async (t) => {
  const { box, env, port, serving } = await started(t, SERVER('r2', 1500));
  const load = startLoad({ port, keepAlive: true, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 });
  const run = await box.naught(['deploy', '--probation', '30', '--cwd', 'current'], env);
  const during = await load.stop();
  // A crash loses what the crashing worker held: one request per client at most.
  t.ok(during.failures.length <= 4, `only requests held by the crashing worker failed (${during.failures.length} of ${during.ok + during.failures.length})`);
  t.equal(run.code, 1);
  t.match(run.stderr, /^(.*\n)*done\n(.*\n)*Deploy rolled back: worker 1 crashed \d+\.\d s after the deploy\.\n(.*\n)*done\n$/);
  t.equal(await serving(), 'r1');
  const history = JSON.parse((await box.naught(['history', '--json'])).stdout) as { current: number; generations: { generation: number; cwd: string }[] };
  t.equal(history.generations.at(-1)!.cwd, fs.realpathSync(box.path('releases/r1')), 'the rollback is the newest generation');
  t.equal(history.current, history.generations.at(-1)!.generation);
});

t.test('deploy-abort during the probation keeps the new release and ends the wait', async (t) => {
  const { box, env, serving } = await started(t, SERVER('r2'));
  const deploy = box.spawn(['deploy', '--probation', '60', '--cwd', 'current'], env);
  await waitFor('done', () => deploy.output().stderr.endsWith('done\n'));
  t.same(await box.naught(['deploy-abort']), { code: 1, stdout: '', stderr: 'no deploy in progress\n' }, 'no deploy is left to abort');
  const run = await deploy.exited;
  t.same(run, { code: 0, stdout: '', stderr: lines(...deployLines(2), 'done', 'probation ended: deploy-abort keeps the new release') });
  t.equal(await serving(), 'r2');
});
