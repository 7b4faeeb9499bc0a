// The plugin API, `naught/plugin`. A plugin is an actor on the daemon's bus that runs in
// its own host process: it hears every message in the catalogue and may publish the
// commands it declares. See docs/plugins.md.
import type { Handler, Unsubscribe } from './bus/bus.js';
import { PLUGIN_COMMANDS, type Envelope, type MessageOf, type MessageType, type PluginCommand } from './bus/messages.js';

export type { Envelope, Message, MessageOf, MessageType, PoolEvent, PoolEventName, Counts, NoticeCode } from './bus/messages.js';
export type { Handler, Unsubscribe };

export { PLUGIN_COMMANDS, type PluginCommand };

/** A command as a plugin writes it: the request id is added for it. */
export type CommandInput<T extends PluginCommand> = Omit<MessageOf<T>, 'requestId'>;

/**
 * What a plugin hears is masked: every environment value in cmd.deploy, cmd.start and
 * cmd.boot arrives as `‹set:hash›` (a keyed hash that shows a change, not the value).
 * A plugin that needs a value reads it from its own process.env, the daemon's.
 */
export interface PluginBus<P extends PluginCommand> {
  on<T extends MessageType>(type: T, handler: Handler<T>): Unsubscribe;
  onAny(handler: (envelope: Envelope) => void): Unsubscribe;
  /** Publishes a declared command; returns its request id, which the reply (pool.reply) carries. A cmd.deploy's env reaches the workers as given. */
  publish<T extends P>(command: CommandInput<T>): string;
}

export interface PluginContext<P extends PluginCommand, O> {
  bus: PluginBus<P>;
  options: O;
  /** Writes one line into naught.log, prefixed with the plugin's name. */
  log(line: string): void;
}

export interface PluginInstance {
  /** Called when the daemon stops (stop, SIGTERM, Ctrl+C); naught waits up to 2 s for what it returns. */
  stop?(): void | Promise<void>;
}

export interface Plugin<P extends PluginCommand = never, O = Record<string, unknown>> {
  name: string;
  /** The commands this plugin may publish; anything else it publishes is refused. */
  publishes: readonly P[];
  create(context: PluginContext<P, O>): PluginInstance | void | Promise<PluginInstance | void>;
}

/** Identity at run time; it gives a plugin module its types. */
export function definePlugin<P extends PluginCommand = never, O = Record<string, unknown>>(plugin: Plugin<P, O>): Plugin<P, O> {
  return plugin;
}

/** Thrown by a plugin's create() when it cannot work as configured: its host is not restarted. */
export class PluginConfigError extends Error {
  override name = 'PluginConfigError';
}
