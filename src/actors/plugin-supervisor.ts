// Runs each --plugin in its own host process, joined to the daemon's bus by a link, and
// keeps it running: a host that exits or stops answering pings (a hung event loop) is
// killed and started again with back-off, and each failure is a notice in naught.log.
// From a host the daemon admits only notices, its ready message and the commands its
// plugin declared that plugins may publish at all. A host that writes anything else is
// not our host any more (a plugin can write frames on fd 3 itself): it is disconnected,
// said in naught.log, and not started again.
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Bus } from '../bus/bus.js';
import { spawnWithPipe } from '../bus/fd3.js';
import { createLink, type Link } from '../bus/link.js';
import { PLUGIN_COMMANDS, type Envelope, type MessageType, type PluginInfo, type PluginSpec } from '../bus/messages.js';
import { nextBackoff } from '../pool/backoff.js';
import { PLUGIN_CONFIG_FAILED, PLUGIN_STOP_GRACE_MS } from '../supervision.js';

const HOST_ENTRY = fileURLToPath(new URL('../bin/plugin-host.js', import.meta.url));
export const PLUGIN_HEARTBEAT = { intervalMs: 2_500, timeoutMs: 5_000, idleIntervalMs: 30_000 };

export interface PluginSupervisor {
  list(): PluginInfo[];
  /** Stops every host, waiting a little for plugins to finish. */
  close(): Promise<void>;
}

interface Running {
  spec: PluginSpec;
  info: Omit<PluginInfo, 'pid'>;
  child: ChildProcess | null;
  link: Link | null;
  declared: Set<MessageType>;
  failures: number;
  /** It wrote a frame it may not: disconnected for good. */
  refused: boolean;
  readySince: number | null;
  timer: NodeJS.Timeout | null;
}

export function createPluginSupervisorActor(deps: { bus: Bus; plugins: PluginSpec[]; cwd: string; writeLog: (line: string) => void }): PluginSupervisor {
  const { bus } = deps;
  let stopping = false;
  const plugins: Running[] = deps.plugins.map((spec) => ({
    spec, info: { module: spec.module, name: null, state: 'starting', restarts: 0 },
    child: null, link: null, declared: new Set(), failures: 0, refused: false, readySince: null, timer: null,
  }));
  const notice = (code: 'PLUGIN_FAILED' | 'PLUGIN_DIED' | 'PLUGIN_REFUSED', message: string) => bus.publish({ type: 'notice', code, message });
  const label = (plugin: Running) => plugin.info.name ?? plugin.spec.module;
  for (const plugin of plugins) startHost(plugin);

  function startHost(plugin: Running): void {
    plugin.timer = null;
    const { child, pipe } = spawnWithPipe([HOST_ENTRY, plugin.spec.file, plugin.spec.module, JSON.stringify(plugin.spec.options)], {
      cwd: deps.cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    plugin.child = child;
    const link = createLink(bus, pipe, {
      name: 'daemon',
      wants: ['*'],
      heartbeat: PLUGIN_HEARTBEAT,
      admit: ({ msg }: Envelope) => msg.type === 'notice' || msg.type === 'plugin.ready' || plugin.declared.has(msg.type),
      onRefused: ({ msg }) => {
        if (plugin.refused) return;
        plugin.refused = true;
        const why = PLUGIN_COMMANDS.includes(msg.type as never) ? 'which it did not declare' : 'which plugins may not publish';
        notice('PLUGIN_REFUSED', `The plugin ${label(plugin)} published ${msg.type}, ${why}; disconnected it, and it is not restarted.`);
        link.close();
      },
    });
    plugin.link = link;
    const offReady = bus.onAny(({ msg }, origin) => {
      if (origin !== link || msg.type !== 'plugin.ready') return;
      const { name, publishes } = msg;
      plugin.info = { ...plugin.info, name, state: 'running' };
      plugin.declared = new Set(publishes.filter((type) => PLUGIN_COMMANDS.includes(type as never)));
      plugin.readySince = Date.now();
    });
    for (const output of [child.stdout, child.stderr]) copyLines(output, (line) => deps.writeLog(`[${label(plugin)}] ${line}`));
    void link.closed.then((error) => {
      offReady();
      if (error?.code === 'LINK_PEER_UNRESPONSIVE' && !stopping) {
        notice('PLUGIN_FAILED', `The plugin ${label(plugin)} (pid ${child.pid}) stopped answering for ${PLUGIN_HEARTBEAT.timeoutMs} ms; killing it.`);
      }
      // A link closed for any reason leaves a host that can no longer do its job; but a
      // stop closes it on purpose, and waits (close() below) while the plugin's stop() runs.
      if (!stopping && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    child.on('error', () => {});
    child.on('exit', (code, signal) => { void link.closed.then(() => hostExited(plugin, code, signal)); });
  }

  function hostExited(plugin: Running, code: number | null, signal: NodeJS.Signals | null): void {
    plugin.child = null;
    plugin.link = null;
    if (stopping) return;
    if (plugin.refused) {
      plugin.info.state = 'failed';
      return;
    }
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (code === PLUGIN_CONFIG_FAILED) {
      plugin.info.state = 'failed';
      notice('PLUGIN_DIED', `The plugin ${label(plugin)} cannot run as configured (${how}); not restarting it.`);
      return;
    }
    const backoff = nextBackoff(plugin.failures, plugin.readySince, Date.now());
    plugin.failures = backoff.failures;
    plugin.readySince = null;
    plugin.info.state = 'restarting';
    plugin.info.restarts++;
    notice('PLUGIN_DIED', `The plugin ${label(plugin)} died (${how}); restarting it${backoff.delayMs ? ` in ${backoff.delayMs} ms` : ''}.`);
    plugin.timer = setTimeout(() => startHost(plugin), backoff.delayMs);
  }

  return {
    list: () => plugins.map((plugin) => ({ ...plugin.info, pid: plugin.child?.pid ?? null })),
    async close() {
      stopping = true;
      await Promise.all(plugins.map(async (plugin) => {
        if (plugin.timer) clearTimeout(plugin.timer);
        const child = plugin.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        plugin.link?.close();
        const kill = setTimeout(() => child.kill('SIGKILL'), PLUGIN_STOP_GRACE_MS + 500);
        await exited;
        clearTimeout(kill);
      }));
    },
  };
}

function copyLines(stream: Readable | null, write: (line: string) => void): void {
  if (!stream) return;
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', write);
}
