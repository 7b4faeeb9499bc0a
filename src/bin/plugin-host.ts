// Entry point of a plugin host: one process per --plugin, joined to the daemon's bus over
// fd 3. It loads the plugin, hands it a bus that publishes only what it declared, and
// exits when the daemon goes away. A plugin's throw ends this process, never the daemon.
//
//   argv: <file to import> <module as given> <options as JSON>
import { pathToFileURL } from 'node:url';
import { createBus } from '../bus/bus.js';
import { openParentPipe } from '../bus/fd3.js';
import { createLink } from '../bus/link.js';
import type { Message, MessageType } from '../bus/messages.js';
import { PLUGIN_COMMANDS, PluginConfigError, type Plugin, type PluginBus, type PluginCommand, type PluginInstance } from '../plugin.js';
import { newRequestId } from '../bus/request-id.js';
import { PLUGIN_CONFIG_FAILED, PLUGIN_STOP_GRACE_MS } from '../supervision/constants.js';

const [file, module, optionsJson] = process.argv.slice(2) as [string, string, string];
let plugin: Plugin<PluginCommand, unknown> | null = null;
let loadError: unknown = null;
try {
  plugin = checkPlugin(((await import(pathToFileURL(file).href)) as { default?: Plugin<PluginCommand, unknown> }).default);
} catch (error) {
  loadError = error;
}
const name = plugin?.name ?? module;
const bus = createBus(`plugin:${name}`);
// What a plugin deploys with is its own to send; what it hears, the daemon masks.
const link = createLink(bus, openParentPipe(), { name: `plugin:${name}`, wants: ['*'], carrySecrets: true });
let instance: PluginInstance | void = undefined;

let failedWith: number | null = null;

function fail(what: string, error: unknown, exitCode = 1): void {
  if (failedWith !== null) return;
  failedWith = exitCode;
  // The error and where it was thrown, on one line of naught.log.
  const reason = error instanceof Error ? (error.stack ?? error.message).split('\n').slice(0, 2).map((l) => l.trim()).join(' ') : String(error);
  bus.publish({ type: 'notice', code: 'PLUGIN_FAILED', message: `The plugin ${name} ${what}: ${reason}` });
  // Until the daemon's hello arrives the link holds messages back: close only after it.
  void link.ready.then(() => link.close());
  setTimeout(() => process.exit(exitCode), 2_000).unref();
}

// The daemon owns the signals. One sent to the whole process group (Ctrl+C in the
// foreground, systemd's stop) must not end us before the daemon's stop runs the plugin's.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

process.on('uncaughtException', (error) => fail('threw', error));
process.on('unhandledRejection', (error) => fail('threw', error));

void link.closed.then(async () => {
  if (failedWith !== null) return process.exit(failedWith);
  // The daemon is stopping (or gone): give the plugin a moment to finish, then go.
  setTimeout(() => process.exit(0), PLUGIN_STOP_GRACE_MS).unref();
  await instance?.stop?.();
  process.exit(0);
});

if (plugin) {
  try {
    instance = await run(plugin);
    bus.publish({ type: 'plugin.ready', name, publishes: [...plugin.publishes] });
  } catch (error) {
    if (error instanceof PluginConfigError) fail('cannot run as configured', error.message, PLUGIN_CONFIG_FAILED);
    else fail('failed to start', error);
  }
} else if (loadError instanceof PluginConfigError) {
  fail('is not a plugin', loadError.message, PLUGIN_CONFIG_FAILED);
} else {
  fail('could not be loaded', loadError);
}

function run(plugin: Plugin<PluginCommand, unknown>) {
  const declared = new Set<MessageType>(plugin.publishes);
  const pluginBus: PluginBus<PluginCommand> = {
    on: (type, handler) => bus.on(type, handler),
    onAny: (handler) => bus.onAny((envelope) => handler(envelope)),
    publish(command) {
      if (!declared.has(command.type)) throw new Error(`the plugin ${plugin.name} did not declare ${command.type} in publishes`);
      const requestId = newRequestId();
      bus.publish({ ...command, requestId } as Message);
      return requestId;
    },
  };
  const log = (line: string) => { bus.publish({ type: 'notice', code: 'PLUGIN_LOG', message: `[${plugin.name}] ${line}` }); };
  return plugin.create({ bus: pluginBus, options: JSON.parse(optionsJson) as unknown, log });
}

function checkPlugin(value: Plugin<PluginCommand, unknown> | undefined): Plugin<PluginCommand, unknown> {
  if (typeof value !== 'object' || value === null || typeof value.name !== 'string' || typeof value.create !== 'function' || !Array.isArray(value.publishes)) {
    throw new PluginConfigError('its default export is not a plugin: use `export default definePlugin({ name, publishes, create })`');
  }
  const unknown = value.publishes.filter((type) => !(PLUGIN_COMMANDS as readonly string[]).includes(type));
  if (unknown.length > 0) throw new PluginConfigError(`it declares ${unknown.join(', ')}, but a plugin may publish only ${PLUGIN_COMMANDS.join(', ')}`);
  return value;
}
