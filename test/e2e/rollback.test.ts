// Generations, `naught history` and `naught rollback`, with Capistrano-style releases:
// releases/<name> folders and a `current` symlink that moves.
import t, { type Test as TapTest } from 'tap';
import fs from 'node:fs';
import { deployLines, descendants, freePort, lines, masterOf, readText, Sandbox, waitFor } from '../helpers/naught.js';
import { startLoad } from '../helpers/load.js';

const SERVER = (release: string) => `const http = require('http');
const server = http.createServer((req, res) => res.end(JSON.stringify({ release: ${JSON.stringify(release)}, greeting: process.env.GREETING ?? null, pid: process.pid })));
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send('online'));
process.on('message', (message) => { if (message === 'shutdown') server.close(() => process.exit(0)); });
`;
const CRASHES = "console.error('this release cannot start'); process.exit(3);\n";

/** releases/<name>/server.cjs for each name, `current` pointing at the first. */
function releases(box: Sandbox, bodies: Record<string, string>): void {
  for (const [name, body] of Object.entries(bodies)) {
    fs.mkdirSync(box.path('releases', name), { recursive: true });
    fs.writeFileSync(box.path('releases', name, 'server.cjs'), body);
  }
  point(box, Object.keys(bodies)[0]!);
}
const point = (box: Sandbox, name: string) => {
  fs.rmSync(box.path('current'), { force: true });
  fs.symlinkSync(`releases/${name}`, box.path('current'));
};

async function serving(port: number): Promise<{ release: string; greeting: string | null; pid: number }> {
  return (await fetch(`http://127.0.0.1:${port}/`)).json() as Promise<{ release: string; greeting: string | null; pid: number }>;
}

async function started(t: TapTest, bodies: Record<string, string>) {
  const box = new Sandbox(t);
  const port = await freePort();
  releases(box, bodies);
  const env = { PORT: String(port) };
  const start = await box.naught(['start', '--worker-count', '2', '--cwd', 'current', 'current/server.cjs'], env);
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  return { box, port, env };
}

const row = (current: boolean, generation: number, release: string, changed = '') =>
  new RegExp(`^${current ? '\\*' : ' '} {2}${generation} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d {2}2 +\\S+/releases/${release}/server\\.cjs${changed ? ` {2}${changed}` : ''}$`);

t.test('history lists each release with its real paths; rollback returns to the previous one after current has moved', async (t) => {
  const { box, port, env } = await started(t, { r1: SERVER('r1'), r2: SERVER('r2') });
  point(box, 'r2');
  t.same(await box.naught(['deploy', '--cwd', 'current'], { ...env, GREETING: 'hello' }), { code: 0, stdout: '', stderr: lines(...deployLines(2), 'done') });
  t.match(await serving(port), { release: 'r2', greeting: 'hello' });

  const history = await box.naught(['history']);
  t.equal(history.code, 0);
  const rows = history.stdout.trimEnd().split('\n');
  t.match(rows[0], /^ {3}gen {2}ready at \(UTC\) {7}workers {2}script +env changed$/);
  t.match(rows[1], row(false, 1, 'r1'));
  t.match(rows[2], row(true, 2, 'r2', '(?:\\S+ )*GREETING(?: \\S+)*'), 'GREETING among the names the deploy changed');

  const load = startLoad({ port, keepAlive: true, concurrency: 4, maxRequests: 1e9, maxMs: 60_000 });
  const rollback = await box.naught(['rollback'], env);
  const during = await load.stop();
  t.same(rollback, { code: 0, stdout: '', stderr: lines(...deployLines(2), 'done') }, "prints the deploy's events and done");
  t.same(during.failures, [], `no request lost during the rollback (${during.ok} requests)`);
  t.match(await serving(port), { release: 'r1' }, 'r1 again, though current points at r2');
  t.equal(fs.readlinkSync(box.path('current')), 'releases/r2');
  const after = (await box.naught(['history'])).stdout.trimEnd().split('\n');
  t.match(after[3], row(true, 3, 'r1'), 'the rollback is a generation of its own');

  t.equal((await box.naught(['rollback', '--to', '2'], env)).code, 0);
  t.match(await serving(port), { release: 'r2', greeting: 'hello' }, '--to N: that one');
  const json = JSON.parse((await box.naught(['history', '--json'])).stdout) as { current: number; generations: { generation: number; cwd: string; env: Record<string, string> }[] };
  t.equal(json.current, 4);
  t.same(json.generations.map((g) => g.generation), [1, 2, 3, 4]);
  t.equal(json.generations[1]!.cwd, fs.realpathSync(box.path('releases/r2')));
  t.match(json.generations[1]!.env.GREETING, /^‹set:[0-9a-f]{8}›$/, 'environment values masked');
  const file = box.path('naught.generations.json');
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'the file next to the pid file is the owner\'s alone');
  t.match(readText(file), '"GREETING": "hello"', 'and holds the values a rollback needs');
});

t.test('a generation whose release is gone, or none before, is refused: exit 1, the workers serve on', async (t) => {
  const { box, port, env } = await started(t, { r1: SERVER('r1'), r2: SERVER('r2') });
  t.same(await box.naught(['rollback'], env), { code: 1, stdout: '', stderr: 'naught rollback: there is no earlier generation to roll back to (naught history lists them)\n' });
  point(box, 'r2');
  t.equal((await box.naught(['deploy', '--cwd', 'current'], env)).code, 0);
  fs.rmSync(box.path('releases/r1'), { recursive: true });
  t.same(await box.naught(['rollback'], env), {
    code: 1, stdout: '', stderr: `naught rollback: generation 1's release is gone: ${fs.realpathSync(box.dir)}/releases/r1 does not exist\n`,
  });
  t.same(await box.naught(['rollback', '--to', '9'], env), { code: 1, stdout: '', stderr: 'naught rollback: there is no generation 9 (naught history lists the last 20)\n' });
  t.match(await serving(port), { release: 'r2' });
  t.equal((await box.naught(['rollback', '--to', 'x'])).code, 1, 'a bad --to prints the help');
});

t.test('a failed deploy leaves replacements on the old release; generations outlive the master and the daemon', async (t) => {
  const { box, port, env } = await started(t, { r1: SERVER('r1'), bad: CRASHES });
  point(box, 'bad');
  t.equal((await box.naught(['deploy', '--cwd', 'current'], env)).code, 1, 'the bad release fails');
  point(box, 'r1');
  const [victim] = descendants(masterOf(box));
  process.kill(victim!, 'SIGKILL');
  await waitFor('the replacement', () => descendants(masterOf(box)).length === 2 && !descendants(masterOf(box)).includes(victim!));
  const replies = await Promise.all(Array.from({ length: 6 }, () => serving(port)));
  t.ok(replies.every((r) => r.release === 'r1'), 'a resuscitated worker runs the release that is up, not the failed one');

  const master = masterOf(box);
  process.kill(master, 'SIGKILL');
  await waitFor('a new master', () => masterOf(box) !== master && masterOf(box) !== 0 && descendants(masterOf(box)).length === 2);
  await waitFor('serving again', async () => (await box.naught(['status'])).stdout === 'workers online: 2\n');
  const report = JSON.parse((await box.naught(['status', '--json'])).stdout) as { workers: { generation: number }[] };
  t.same(report.workers.map((w) => w.generation), [1, 1], "a new master's workers are the running generation");
  t.equal((await box.naught(['stop'])).code, 0);
  t.equal((await box.naught(['start', '--worker-count', '2', '--cwd', 'current', 'current/server.cjs'], env)).code, 0);
  const history = JSON.parse((await box.naught(['history', '--json'])).stdout) as { current: number; generations: { generation: number }[] };
  t.same(history.generations.map((g) => g.generation), [1, 2], 'the history is kept across a restart (the failed deploy never became a generation)');
  t.equal(history.current, 2, 'and the new start is the next generation');
});
