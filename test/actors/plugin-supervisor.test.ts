// Plugin hosts kept running from an in-memory bus, with the test fixtures' plugins: a
// plugin's declared command crosses and its log lines are notices; one that forges a frame
// it may not send is disconnected for good; one that cannot load is not restarted.
import t from 'tap';
import { createBus } from '../../src/bus/bus.js';
import type { Message, PluginSpec } from '../../src/bus/messages.js';
import { createPluginSupervisorActor } from '../../src/actors/plugin-supervisor.js';
import { fixture, repoRoot } from '../helpers/paths.js';
import { waitFor } from '../helpers/naught.js';

const spec = (name: string): PluginSpec => ({ module: `./${name}`, file: fixture(`plugins/${name}`), options: {} });
const ready = { type: 'pool.event', event: 'Ready', waitingFor: null, count: { booting: 0, online: 1, dying: 0, new_online: 0 } } as const;

t.test('a running plugin publishes what it declared and nothing else; its lines go to the log', async (t) => {
  const bus = createBus('daemon');
  const logged: string[] = [];
  const fromPlugin: Message[] = [];
  bus.onAny(({ msg }, origin) => { if (origin !== undefined) fromPlugin.push(msg); });
  bus.on('notice', ({ code, message }) => { if (code === 'PLUGIN_LOG') logged.push(message); });
  const plugins = createPluginSupervisorActor({ bus, plugins: [spec('asks-status.mjs')], cwd: repoRoot, writeLog: (line) => logged.push(`output ${line}`) });
  t.teardown(() => plugins.close());
  t.match(plugins.list(), [{ module: './asks-status.mjs', name: null, state: 'starting', restarts: 0 }]);
  await waitFor('the plugin ready', () => plugins.list()[0]!.state === 'running');
  t.match(plugins.list(), [{ name: 'asker', state: 'running', pid: Number }]);
  bus.on('cmd.status', ({ requestId }) => { bus.publish({ type: 'pool.reply', requestId, event: 'Status', waitingFor: null, count: ready.count }); });
  bus.publish(ready);
  await waitFor('its reply logged', () => logged.some((line) => line.startsWith('[asker] status')));
  t.same(logged, ['[asker] refused: the plugin asker did not declare cmd.stop in publishes', '[asker] status: Status, online 1']);
  t.same(fromPlugin.map((msg) => msg.type).filter((type) => type !== 'notice'), ['plugin.ready', 'cmd.status']);
  await plugins.close();
  t.match(plugins.list(), [{ state: 'running', pid: null }], 'stopped, not failed');
});

t.test('a forged frame disconnects the plugin for good; a module that is no plugin is not restarted', async (t) => {
  const bus = createBus('daemon');
  const notices: string[] = [];
  bus.on('notice', ({ code, message }) => notices.push(`${code}: ${message}`));
  const plugins = createPluginSupervisorActor({ bus, plugins: [spec('forges-frames.mjs'), spec('not-a-plugin.mjs')], cwd: repoRoot, writeLog: () => {} });
  t.teardown(() => plugins.close());
  await waitFor('the forger ready', () => plugins.list()[0]!.state === 'running');
  bus.publish(ready);
  await waitFor('both failed', () => plugins.list().every((plugin) => plugin.state === 'failed'));
  t.ok(notices.includes('PLUGIN_REFUSED: The plugin forger published cmd.upgrade, which plugins may not publish; disconnected it, and it is not restarted.'), notices.join('\n'));
  t.ok(notices.some((line) => /^PLUGIN_DIED: The plugin \.\/not-a-plugin\.mjs cannot run as configured \(exit code 78\); not restarting it\.$/.test(line)), notices.join('\n'));
  t.notOk(notices.some((line) => /; restarting it/.test(line)), 'neither is restarted');
  t.match(plugins.list(), [{ state: 'failed', pid: null, restarts: 0 }, { state: 'failed', pid: null, restarts: 0 }]);
});
