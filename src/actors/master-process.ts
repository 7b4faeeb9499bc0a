// The daemon's master process, kept running by the child supervisor: started with the
// release's node args, working folder and environment, the listening sockets after its
// fd 3 (the bus) and fd 4 (the IPC channel, which carries the workers' output pipes to the
// log rotator), and told on the bus what to boot.
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import type { Bus } from '../bus/bus.js';
import { spawnWithPipe } from '../bus/fd3.js';
import type { MessageOf, OutputMode, ServerConfig, WorkerStreamName } from '../bus/messages.js';
import { superviseChild, type ChildHooks, type ChildSupervisor } from '../supervision/child-supervisor.js';
import { MASTER_HEARTBEAT, SUPERVISOR_V8_FLAGS } from '../supervision/constants.js';

const MASTER_ENTRY = fileURLToPath(new URL('../bin/master.js', import.meta.url));
/** Descriptors the master gets after its stdio, the bus pipe (3) and the IPC channel (4). */
const FIRST_PASSED_FD = 5;

export interface MasterProcessDeps extends Pick<ChildHooks, 'mayRestart' | 'ended'> {
  bus: Bus;
  /** The release a new master boots. */
  release(): ServerConfig;
  listeners: { fds: number[]; names: string[] };
  output: Record<WorkerStreamName, OutputMode>;
  /** Where the master's and workers' output goes (the log rotator). */
  logs: { attach(stream: WorkerStreamName, source: Readable | null): void; adopt(stream: WorkerStreamName, pipe: net.Socket, pid: number): void };
  /** What the new master boots as, besides the release. */
  boot(): Omit<MessageOf<'cmd.boot'>, 'type' | 'config' | 'output'>;
}

export function superviseMaster({ bus, release, listeners, output, logs, boot, mayRestart, ended }: MasterProcessDeps): ChildSupervisor {
  return superviseChild({
    heartbeat: MASTER_HEARTBEAT,
    finalExitCodes: [0],
    notices: {
      hung: { code: 'MASTER_UNRESPONSIVE', text: (pid, ms) => `The master process ${pid} stopped answering for ${ms} ms; killing it.` },
      restarting: {
        code: 'MASTER_DIED',
        text: ({ pid, how }, delayMs) => `The master process ${pid} died (${how}); starting a new master${delayMs ? ` in ${delayMs} ms` : ''}.`,
      },
    },
  }, {
    bus,
    link: { name: 'daemon', wants: ['*'], carrySecrets: true },
    spawn() {
      const server = release();
      const inherited = listeners.fds.length === 0 ? {} : {
        NAUGHT_INHERITED_FDS: listeners.fds.map((_, i) => String(FIRST_PASSED_FD + i)).join(','), NAUGHT_INHERITED_FDNAMES: listeners.names.join(':'),
      };
      return spawnWithPipe([...SUPERVISOR_V8_FLAGS, ...server.nodeArgs, MASTER_ENTRY], {
        cwd: server.cwd,
        env: { ...process.env, ...server.env, ...inherited },
        stdio: ['ignore', output.stdout, output.stderr],
        handles: true,
        passFds: listeners.fds,
      });
    },
    started({ child }) {
      logs.attach('stdout', child.stdout);
      logs.attach('stderr', child.stderr);
      child.on('message', (message: unknown, handle: unknown) => {
        const { output: stream, pid } = (message ?? {}) as { output?: unknown; pid?: unknown };
        if (handle instanceof net.Socket && (stream === 'stdout' || stream === 'stderr')) logs.adopt(stream, handle, typeof pid === 'number' ? pid : 0);
        else if (handle instanceof net.Socket) handle.destroy();
      });
      bus.publish({ type: 'cmd.boot', config: release(), output, ...boot() });
    },
    mayRestart,
    ended,
  });
}
