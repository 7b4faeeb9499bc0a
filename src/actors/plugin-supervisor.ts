// Runs each --plugin in its own host process, joined to the daemon's bus by a link, and
// keeps it running: a host that exits or stops answering pings (a hung event loop) is
// killed and started again with back-off, and each failure is a notice in naught.log.
// From a host the daemon admits only notices, its ready message and the commands its
// plugin declared that plugins may publish at all. A host that writes anything else is
// not our host any more (a plugin can write frames on fd 3 itself): it is disconnected,
// said in naught.log, and not started again.
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { Bus } from '../bus/bus.js';
import { spawnWithPipe } from '../bus/fd3.js';
import { PLUGIN_COMMANDS, type MessageType, type PluginInfo, type PluginSpec } from '../bus/messages.js';
import { superviseChild, type ChildSupervisor } from '../supervision/child-supervisor.js';
import { PLUGIN_CONFIG_FAILED, PLUGIN_HEARTBEAT, PLUGIN_STOP_GRACE_MS } from '../supervision/constants.js';

const HOST_ENTRY = fileURLToPath(new URL('../bin/plugin-host.js', import.meta.url));

export interface PluginSupervisor {
  list(): PluginInfo[];
  /** Stops every host, waiting a little for plugins to finish. */
  close(): Promise<void>;
}

interface Plugin {
  spec: PluginSpec;
  info: Omit<PluginInfo, 'pid'>;
  declared: Set<MessageType>;
  /** It wrote a frame it may not: disconnected for good. */
  refused: boolean;
  supervisor: ChildSupervisor;
}

export function createPluginSupervisorActor(deps: { bus: Bus; plugins: PluginSpec[]; cwd: string; writeLog: (line: string) => void }): PluginSupervisor {
  const { bus } = deps;
  const plugins = deps.plugins.map((spec) => supervise(spec));

  function supervise(spec: PluginSpec): Plugin {
    const plugin: Omit<Plugin, 'supervisor'> = { spec, info: { module: spec.module, name: null, state: 'starting', restarts: 0 }, declared: new Set(), refused: false };
    const label = () => plugin.info.name ?? spec.module;
    const supervisor: ChildSupervisor = superviseChild({
      heartbeat: PLUGIN_HEARTBEAT,
      finalExitCodes: [PLUGIN_CONFIG_FAILED],
      notices: {
        hung: { code: 'PLUGIN_FAILED', text: (pid, ms) => `The plugin ${label()} (pid ${pid}) stopped answering for ${ms} ms; killing it.` },
        restarting: { code: 'PLUGIN_DIED', text: ({ how }, delayMs) => `The plugin ${label()} died (${how}); restarting it${delayMs ? ` in ${delayMs} ms` : ''}.` },
      },
    }, {
      bus,
      spawn: () => spawnWithPipe([HOST_ENTRY, spec.file, spec.module, JSON.stringify(spec.options)], {
        cwd: deps.cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'],
      }),
      link: {
        name: 'daemon',
        wants: ['*'],
        admit: ({ msg }) => msg.type === 'notice' || msg.type === 'plugin.ready' || plugin.declared.has(msg.type),
        onRefused: ({ msg }) => {
          if (plugin.refused) return;
          plugin.refused = true;
          const why = PLUGIN_COMMANDS.includes(msg.type as never) ? 'which it did not declare' : 'which plugins may not publish';
          bus.publish({ type: 'notice', code: 'PLUGIN_REFUSED', message: `The plugin ${label()} published ${msg.type}, ${why}; disconnected it, and it is not restarted.` });
          const run = supervisor.current();
          run?.link.close();
          run?.child.kill('SIGKILL');
        },
      },
      started({ child, link }) {
        const offReady = bus.onAny(({ msg }, origin) => {
          if (origin !== link || msg.type !== 'plugin.ready') return;
          plugin.info = { ...plugin.info, name: msg.name, state: 'running' };
          plugin.declared = new Set(msg.publishes.filter((type) => PLUGIN_COMMANDS.includes(type as never)));
          supervisor.markReady();
        });
        void link.closed.then(offReady);
        for (const output of [child.stdout, child.stderr]) copyLines(output, (line) => deps.writeLog(`[${label()}] ${line}`));
      },
      mayRestart() {
        if (plugin.refused) return false;
        plugin.info.state = 'restarting';
        plugin.info.restarts++;
        return true;
      },
      ended(exit, why) {
        if (why === 'stopped') return;
        plugin.info.state = 'failed';
        if (why === 'final') {
          bus.publish({ type: 'notice', code: 'PLUGIN_DIED', message: `The plugin ${label()} cannot run as configured (${exit!.how}); not restarting it.` });
        }
      },
    });
    return Object.assign(plugin, { supervisor });
  }

  return {
    list: () => plugins.map((plugin) => ({ ...plugin.info, pid: plugin.supervisor.current()?.child.pid ?? null })),
    async close() {
      await Promise.all(plugins.map((plugin) => plugin.supervisor.stop({ closeLinkAndKillAfterMs: PLUGIN_STOP_GRACE_MS + 500 })));
    },
  };
}

function copyLines(stream: Readable | null, write: (line: string) => void): void {
  if (!stream) return;
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', write);
}
