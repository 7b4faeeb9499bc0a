import t, { type Test } from 'tap';
import fs from 'node:fs';
import { fixture, repoRoot } from '../helpers/paths.js';
import { bootLines, descendants, freePort, get, isAlive, line, lines, readText, Sandbox, waitFor } from '../helpers/naught.js';

async function withPlugins(t: Test, plugins: string[], env: Record<string, string> = {}, prepare?: (box: Sandbox) => void) {
  const box = new Sandbox(t);
  prepare?.(box);
  const port = await freePort();
  const args = plugins.flatMap((plugin) => ['--plugin', plugin]);
  const start = await box.naught(['start', ...args, fixture('hello-server.cjs')], { PORT: String(port), ...env });
  // A plugin's notices during the boot are printed too: they are checked in naught.log.
  const stderr = start.stderr.split('\n').filter((line) => !line.startsWith('The plugin ')).join('\n');
  t.same({ ...start, stderr }, { code: 0, stdout: 'workers online: 1\n', stderr: lines(...bootLines(1)) });
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  return { box, port };
}

const pluginLine = (status: string) => /^plugin (\S+)(?: \((.+)\))?: (\w+)(?:, pid (\d+))?, restarts (\d+)$/.exec(status);
async function pluginStatus(box: Sandbox): Promise<{ name: string; state: string; pid: number | null; restarts: number }[]> {
  const run = await box.naught(['status']);
  const [first, ...rest] = run.stdout.trimEnd().split('\n');
  if (first !== 'workers online: 1') throw new Error(`unexpected status: ${run.stdout}`);
  return rest.map((line) => {
    const m = pluginLine(line);
    if (!m) throw new Error(`not a plugin line: ${line}`);
    return { name: m[1]!, state: m[3]!, pid: m[4] ? Number(m[4]) : null, restarts: Number(m[5]) };
  });
}

t.test('the example plugin records every message; status lists it; stop stops its host', async (t) => {
  const example = `${repoRoot}/examples/plugins/events-to-file.mjs`;
  const { box } = await withPlugins(t, [`${example}={"file":"events.jsonl"}`]);
  await waitFor('the plugin to be running', async () => (await pluginStatus(box))[0]?.state === 'running');
  const run = await box.naught(['status']);
  t.match(run, { code: 0, stderr: '' });
  const [, listed] = run.stdout.split('\n');
  const m = pluginLine(listed!)!;
  t.same([m[1], m[2], m[3], m[5]], ['events-to-file', example, 'running', '0'], `status: ${listed}`);
  const hostPid = Number(m[4]);
  t.equal((await box.naught(['deploy'])).code, 0);
  t.equal((await box.naught(['stop'])).code, 0);
  t.notOk(isAlive(hostPid), 'the plugin host is gone once stop returns');
  const events = readText(box.path('events.jsonl')).trimEnd().split('\n').map((line) => JSON.parse(line) as { sender: string; type: string; event?: string });
  t.ok(events.some((e) => e.type === 'cmd.deploy' && e.sender.startsWith('cli:')), 'it heard the CLI');
  t.ok(events.some((e) => e.type === 'worker.shutdown' && e.sender === 'master'), 'and the master');
  t.ok(events.filter((e) => e.event === 'Ready').length >= 1);
});

t.test('the deploy-on-file example deploys when its file appears', async (t) => {
  const { box } = await withPlugins(t, [`./deploy-on-file.mjs={"file":"deploy-now"}`], {}, (box) => {
    fs.copyFileSync(`${repoRoot}/examples/plugins/deploy-on-file.mjs`, box.path('deploy-on-file.mjs'));
    // Where the copy sits, `naught/plugin` must resolve as in a user's project.
    fs.mkdirSync(box.path('node_modules'));
    fs.symlinkSync(repoRoot, box.path('node_modules/naught'));
  });
  await waitFor('the plugin to be running', async () => (await pluginStatus(box))[0]?.state === 'running');
  fs.writeFileSync(box.path('deploy-now'), '');
  await waitFor('the deploy it asked for', () => readText(box.path('naught.log')).includes(`${line('OldExit', 0, 0, 0, 1)}\n${line('Ready', 0, 1, 0, 0)}\n`));
  t.notOk(fs.existsSync(box.path('deploy-now')));
  t.match(readText(box.path('naught.log')), '[deploy-on-file] ready with 1 workers\n');
});

t.test('a plugin publishes the commands it declared and gets their replies; others are refused', async (t) => {
  const { box } = await withPlugins(t, [fixture('plugins/asks-status.mjs')]);
  await waitFor('the plugin to log the reply', () => readText(box.path('naught.log')).includes('[asker] status: Status, online 1\n'));
  t.match(readText(box.path('naught.log')), '[asker] refused: the plugin asker did not declare cmd.stop in publishes\n');
  t.match(await pluginStatus(box), [{ name: 'asker', state: 'running', pid: Number, restarts: 0 }]);
});

t.test('a plugin that writes frames it may not publish is disconnected for good, and naught.log says so', async (t) => {
  const { box, port } = await withPlugins(t, [fixture('plugins/forges-frames.mjs')]);
  await waitFor('the refusal', () => readText(box.path('naught.log')).includes('The plugin forger published cmd.upgrade, which plugins may not publish; disconnected it, and it is not restarted.\n'));
  await waitFor('the plugin failed', async () => (await pluginStatus(box))[0]?.state === 'failed');
  t.match(await pluginStatus(box), [{ name: 'forger', state: 'failed', pid: null, restarts: 0 }]);
  t.notMatch(readText(box.path('naught.log')), /Upgrad/, 'the forged cmd.upgrade never reached the upgrade actor');
  t.match(await get(port), { worker: '0' }, 'the workers never noticed');
});

t.test('a plugin that throws is restarted with back-off; the workers never notice', async (t) => {
  const { box, port } = await withPlugins(t, [fixture('plugins/throws.mjs')]);
  await waitFor('the plugin to be running', async () => (await pluginStatus(box))[0]?.state === 'running');
  const worker = (await get(port)).pid;
  await waitFor('two restarts', async () => (await pluginStatus(box))[0]!.restarts >= 2, 20_000);
  const log = readText(box.path('naught.log'));
  t.match(log, /^The plugin thrower threw: Error: boom from a plugin at .*$/m);
  t.match(log, /^The plugin thrower died \(exit code 1\); restarting it\.$/m, 'the first restart is at once');
  t.match(log, /^The plugin thrower died \(exit code 1\); restarting it in 100 ms\.$/m, 'the next after a delay');
  t.equal((await get(port)).pid, worker, 'the same worker serves throughout');
  t.equal((await box.naught(['deploy'])).code, 0);
});

t.test('a plugin whose event loop hangs is killed and restarted', async (t) => {
  const { box, port } = await withPlugins(t, [fixture('plugins/hangs.mjs')]);
  await waitFor('the plugin to be running', async () => (await pluginStatus(box))[0]?.state === 'running');
  const [before] = await pluginStatus(box); // this request hangs it
  t.equal((await get(port)).greeting, null, 'workers serve while it hangs');
  // While the host is hung, and before the heartbeat gives up on it: nothing waits for it.
  t.equal((await box.naught(['deploy'])).code, 0, 'a deploy while the plugin hangs');
  t.same(await box.naught(['status']), { code: 0, stdout: `workers online: 1\nplugin hanger (${fixture('plugins/hangs.mjs')}): running, pid ${before!.pid}, restarts 0\n`, stderr: '' }, 'status while the plugin hangs');
  t.notMatch(readText(box.path('naught.log')), /stopped answering/, 'all of it before the host was given up on');
  await waitFor('the hung host to be killed', () => /^The plugin hanger \(pid \d+\) stopped answering for 5000 ms; killing it\.$/m.test(readText(box.path('naught.log'))), 15_000);
  await waitFor('the restart', () => /^The plugin hanger died \(signal SIGKILL\); restarting it\.$/m.test(readText(box.path('naught.log'))));
  t.notOk(isAlive(before!.pid!), 'the hung host is gone');
  t.equal((await box.naught(['deploy'])).code, 0, 'and after the restart');
});

t.test('a module that is not a plugin fails once and is not restarted', async (t) => {
  const { box } = await withPlugins(t, [fixture('plugins/not-a-plugin.mjs')]);
  await waitFor('the verdict', async () => (await pluginStatus(box))[0]?.state === 'failed');
  const log = readText(box.path('naught.log'));
  t.match(log, /^The plugin .*not-a-plugin\.mjs is not a plugin: its default export is not a plugin: use `export default definePlugin\(\{ name, publishes, create \}\)`$/m);
  t.match(log, /^The plugin .*not-a-plugin\.mjs cannot run as configured \(exit code 78\); not restarting it\.$/m);
  t.equal(log.split('cannot run as configured').length, 2, 'said once');
});

t.test('a --plugin that cannot be found, or bad options, fail the start', async (t) => {
  const box = new Sandbox(t);
  t.same(await box.naught(['start', '--plugin', './nope.mjs', fixture('hello-server.cjs')]), {
    code: 1, stdout: '', stderr: `unable to start daemon: the plugin ./nope.mjs was not found: no file ${box.path('nope.mjs')}\n`,
  });
  t.same(await box.naught(['start', '--plugin', 'no-such-package', fixture('hello-server.cjs')]), {
    code: 1, stdout: '', stderr: `unable to start daemon: the plugin no-such-package was not found from ${box.dir}\n`,
  });
  const bad = await box.naught(['start', '--plugin', 'naught/plugins/slack={oops', fixture('hello-server.cjs')]);
  t.match(bad, { code: 1, stdout: '', stderr: /^unable to start daemon: the options of --plugin naught\/plugins\/slack are not JSON: / });
  t.notOk(fs.existsSync(box.path('naught.pid')));
});

for (const async of [false, true]) {
  t.test(`a plugin's ${async ? 'async' : 'sync'} stop() runs when naught stops, and is waited for (daemon mode)`, async (t) => {
    const box = new Sandbox(t);
    const port = await freePort();
    const file = box.path('stop.txt');
    const start = await box.naught(['start', '--plugin', `${fixture('plugins/stop-writes.mjs')}=${JSON.stringify({ file, async })}`, fixture('hello-server.cjs')], { PORT: String(port) });
    t.equal(start.code, 0, start.stderr);
    t.teardown(() => box.naught(['stop', '--timeout', '1']));
    await waitFor('the plugin to start', () => readText(file) === 'started\n');
    const [before] = await pluginStatus(box);
    t.same((await box.naught(['stop'])).code, 0);
    t.equal(readText(file), 'started\nstopped\n', 'stop() ran before `stop` returned');
    t.notOk(isAlive(before!.pid!), 'the host is gone');
    t.notMatch(readText(box.path('naught.log')), /The plugin stop-writes/, 'no failure or death said');
  });
}

t.test("a plugin's stop() runs on Ctrl+C in the foreground (SIGINT to the whole group)", async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const file = box.path('stop.txt');
  const cli = box.spawn(['start', '--daemon-mode', 'false', '--plugin', `${fixture('plugins/stop-writes.mjs')}=${JSON.stringify({ file, async: true })}`, fixture('hello-server.cjs')], { PORT: String(port) });
  await waitFor('the plugin to start', () => readText(file) === 'started\n');
  await waitFor('the worker to serve', () => get(port).then(() => true, () => false));
  // What a terminal does on Ctrl+C: SIGINT to every process in the foreground group.
  for (const pid of [cli.pid!, ...descendants(cli.pid!)]) process.kill(pid, 'SIGINT');
  const result = await cli.exited;
  t.equal(result.code, 0);
  t.equal(readText(file), 'started\nstopped\n');
});
