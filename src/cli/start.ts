// `naught start`: a running daemon's status; else, after clearing a stale socket, a new
// daemon, detached (daemon mode) or as this very process (`--daemon-mode false`, for
// systemd and other service wrappers), with naught 1.6's lines as its workers boot.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createCliClientActor, type Renderer } from '../actors/cli-client.js';
import { createBus } from '../bus/bus.js';
import { spawnWithPipe } from '../bus/fd3.js';
import type { DaemonConfig, PoolEvent } from '../bus/messages.js';
import { newRequestId } from '../bus/request-id.js';
import { removeSocketPath } from '../files/owned-paths.js';
import { SUPERVISOR_V8_FLAGS } from '../supervision/constants.js';
import { createBootProgress, type BootProgress } from './boot-progress.js';
import { formatStatus } from './format.js';
import { lastWordsPrinter } from './last-words.js';
import { isEvent, printOther, probe, refusedMessage, renderStatus, type Io } from './talk.js';

const DAEMON_ENTRY = fileURLToPath(new URL('../bin/daemon.js', import.meta.url));

export interface StartOptions {
  config: DaemonConfig;
  /** For messages: naught 1.6 printed the ipc-file as given (config.ipcFile is resolved). */
  ipcFileAsGiven: string;
  daemonMode: boolean;
  removeOldIpc: boolean;
}

export async function start(io: Io, { config, ipcFileAsGiven, daemonMode, removeOldIpc }: StartOptions): Promise<number> {
  const found = await probe(config.ipcFile);
  if (found.state === 'running') {
    const client = createCliClientActor(found.socket, renderStatus(io, 1), () => 1);
    client.bus.publish({ type: 'cmd.status', requestId: newRequestId() });
    return client.outcome;
  }
  if (found.state === 'error') {
    io.err(`unable to start daemon: ${found.error.message}\n`);
    return 1;
  }
  if (found.state === 'refused' && !clearStaleIpc(io, config, ipcFileAsGiven, removeOldIpc)) return 1;
  return daemonMode ? startDaemon(io, config) : runForeground(io, config);
}

/** A socket nobody answers on: removed when asked to, or when its daemon is provably gone. */
function clearStaleIpc(io: Io, config: DaemonConfig, ipcFile: string, removeOldIpc: boolean): boolean {
  if (removeOldIpc) {
    io.err(`unable to connect to ipc-file \`${ipcFile}\`\n\nremoving the ipc-file and attempting to continue\n`);
  } else {
    const pid = deadDaemonPid(config.pidFile);
    if (pid === null) {
      io.err(refusedMessage(ipcFile));
      return false;
    }
    io.err(`removing stale ipc-file \`${ipcFile}\`: its daemon (pid ${pid}) is gone\n`);
  }
  try {
    removeSocketPath(config.ipcFile);
  } catch (error) {
    io.err(`unable to start daemon: ${(error as Error).message}\n`);
    return false;
  }
  return true;
}

/** The pid in the pid file, if that process no longer exists; null without such evidence. */
function deadDaemonPid(pidFile: string): number | null {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8'), 10);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return processExists(pid) ? null : pid;
}

/** A killed daemon may linger as a zombie until reaped; on Linux, /proc tells it apart. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

function renderStart(io: Io, config: DaemonConfig, progress: BootProgress, tty: boolean): Renderer {
  let timedOut = false;
  const lastWords = lastWordsPrinter(io, tty);
  return (msg) => {
    if (msg.type === 'worker.last-words') return lastWords.heard(msg);
    if (msg.type === 'pool.event') progress.online(msg.count.online + msg.count.new_online);
    if (isEvent(msg, 'Ready')) {
      progress.finish();
      io.out(formatStatus(msg));
      return 0;
    }
    if (isEvent(msg, 'Timeout')) timedOut = true;
    if (isEvent(msg, 'Shutdown')) {
      progress.finish();
      if (!timedOut) {
        io.err('The server crashed without booting. Check stderr.log.\n');
        lastWords.failed();
        return { whenClosed: 1 };
      }
      io.err(`The server was still booting when --timeout passed (${(config.bootTimeoutMs ?? 0) / 1000} s); its workers were stopped. Check stderr.log.\n`);
      progress.hint();
      return { whenClosed: 1 };
    }
    if (msg.type === 'notice' && msg.code === 'DAEMON_START_FAILED') {
      progress.finish();
      io.err(`unable to start daemon: ${msg.message}\n`);
      return 1;
    }
    return printOther(progress.io, msg);
  };
}

function startDaemon(io: Io, config: DaemonConfig): Promise<number> {
  const { child, pipe } = spawnWithPipe([...SUPERVISOR_V8_FLAGS, DAEMON_ENTRY], {
    detached: true, cwd: config.cwd, env: process.env, stdio: ['ignore', 'ignore', 'ignore'],
  });
  child.unref();
  let spawnError: Error | null = null;
  child.once('error', (error) => { spawnError = error; });
  const tty = process.stderr.isTTY === true;
  const progress = createBootProgress(io, config.workerCount, tty);
  const client = createCliClientActor(pipe, renderStart(io, config, progress, tty), () => {
    progress.finish();
    io.err(`unable to start daemon: ${spawnError?.message ?? 'the daemon process exited before the server was up'}\n`);
    return 1;
  });
  client.bus.publish({ type: 'cmd.start', config });
  return client.outcome;
}

/** `--daemon-mode false`: this process is the daemon, for systemd and other service wrappers. */
async function runForeground(io: Io, config: DaemonConfig): Promise<number> {
  const bus = createBus('daemon');
  // Forked with an IPC channel: tell the parent, in naught's exact shape.
  const tellParent = (message: object) => { process.send?.(message, undefined, undefined, () => {}); };
  try {
    // Loaded here only: the other commands need none of the daemon's modules, and each
    // module loaded is start-up time of a command that users run many times a day.
    const { createDaemonActor } = await import('../actors/daemon.js');
    const daemon = await createDaemonActor({
      bus, config, foreground: true,
      onListening() {
        if (!process.send) return;
        tellParent({ event: 'IpcListening' });
        const forward = ({ event, waitingFor, count }: PoolEvent) => tellParent({ event, waitingFor, count: { ...count } });
        bus.on('pool.event', forward);
        bus.on('pool.reply', forward);
      },
    });
    const code = await daemon.done;
    if (process.connected) process.disconnect();
    return code;
  } catch (error) {
    io.err(`unable to start daemon: ${(error as Error).message}\n`);
    return 1;
  }
}
