// What each naught command does, printing naught 1.6's exact lines. Each returns the exit
// status; only the entry point exits.
import fs from 'node:fs';
import { removeSocketPath } from '../files/owned-paths.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCliClientActor, type Renderer } from '../actors/cli-client.js';
import { newRequestId } from '../bus/request-id.js';
import { connect, isEvent, printOther, probe, refusedMessage, renderStatus, talk, type Io } from './talk.js';

export { status, type Io } from './talk.js';
import { createBus } from '../bus/bus.js';
import { spawnWithPipe } from '../bus/fd3.js';
import { SUPERVISOR_V8_FLAGS } from '../supervision/constants.js';
import type { DaemonConfig, Message, MessageOf, PoolEvent } from '../bus/messages.js';
import { formatEvent, formatStatus } from './format.js';
import * as trace from './trace.js';
import { logsFromDaemon, logsFromFiles, type LogsOptions } from './logs.js';
import { formatHistory, formatWorkersTable } from './workers-table.js';
import { createBootProgress, createPoolProgress, type BootProgress } from './boot-progress.js';

const DAEMON_ENTRY = fileURLToPath(new URL('../bin/daemon.js', import.meta.url));

/** `status --json` and `status --workers`: the daemon's status.report, as JSON or as a table. */
export async function inspect(io: Io, ipcFile: string, as: 'json' | 'table', colour: boolean): Promise<number> {
  const found = await probe(ipcFile);
  if (found.state !== 'running' && as === 'json') {
    io.out('{"running": false}\n');
    return 1;
  }
  if (found.state !== 'running') return connect(io, ipcFile, 1) as Promise<number>;
  const client = createCliClientActor(found.socket, (msg) => {
    if (msg.type !== 'status.report') return undefined;
    io.out(as === 'json' ? JSON.stringify(msg.report, null, 2) + '\n' : formatWorkersTable(msg.report, colour));
    return 0;
  }, () => {
    io.err('the daemon closed the connection before answering\n');
    return 1;
  });
  client.bus.publish({ type: 'cmd.inspect', requestId: newRequestId() });
  return client.outcome;
}

export function stop(plainIo: Io, ipcFile: string, timeoutMs: number | null): Promise<number> {
  const progress = createPoolProgress(plainIo, process.stderr.isTTY === true, 'stop');
  const io = progress.io;
  return talk(io, ipcFile, 0, (requestId) => ({ type: 'cmd.stop', requestId, timeoutMs }), (msg) => {
    if (msg.type === 'pool.event') progress.saw(msg);
    if (isEvent(msg, 'Shutdown')) {
      progress.finish();
      return { whenClosed: 0 };
    }
    if (isEvent(msg, 'AlreadyShuttingDown')) {
      io.err('Waiting for shutdown already in progress.\nIf it hangs, Ctrl+C this command and try it again with --timeout 1\n');
      return undefined;
    }
    return printOther(io, msg);
  }).finally(progress.finish);
}

export interface DeployOptions {
  workerCount: number;
  env: Record<string, string> | null;
  cwd: string;
  timeoutMs: number | null;
  /** `--probation S`: wait this long after done, and roll back if a new worker fails meanwhile. */
  probationMs: number | null;
  /** `--batch-size N`: replace N workers at a time. */
  batchSize: number | null;
}

/** The CLI's environment, which a deploy gives the new workers (`--override-env true`). */
export function definedEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/** `deploy`, or `rollback` (a deploy of a generation's release, which the daemon may refuse). */
export function deploy(plainIo: Io, ipcFile: string, options: DeployOptions | { rollbackTo: number | null }): Promise<number> {
  let onSigint: (() => void) | null = null;
  const progress = createPoolProgress(plainIo, process.stderr.isTTY === true, 'deploy');
  const io = progress.io;
  const lastWords = lastWordsPrinter(io, process.stderr.isTTY === true);
  let onProbation = false;
  let rolledBack = false;
  const command = (requestId: string): Message => {
    if ('rollbackTo' in options) return { type: 'cmd.rollback', requestId, to: options.rollbackTo };
    // Beyond naught's fields, only what was asked for: the trace shows a plain deploy as ever.
    const { probationMs, batchSize, ...asNaught } = options;
    return { type: 'cmd.deploy', requestId, ...asNaught, ...(probationMs ? { probationMs } : {}), ...(batchSize ? { batchSize } : {}) };
  };
  const result = talk(io, ipcFile, 1, command, (msg) => {
    if (msg.type === 'pool.event') progress.saw(msg);
    if (msg.type === 'rollback.refused') {
      io.err(`naught rollback: ${msg.reason}\n`);
      return 1;
    }
    if (msg.type === 'worker.last-words') return lastWords.heard(msg);
    if (isEvent(msg, 'ErrorDeployInProgress')) {
      io.err('Deploy already in progress. Press Ctrl+C to abort.\n');
      return undefined;
    }
    if (isEvent(msg, 'Shutdown')) {
      io.err("Bootup never succeeded. Check stderr.log and usage of 'online' and 'shutdown' events.\n");
      return { whenClosed: 1 };
    }
    if (isEvent(msg, 'DeployFailed')) {
      io.out("Deploy failed. Check stderr.log and usage of 'online' and 'shutdown' events.\n");
      lastWords.failed();
      return 1;
    }
    if (isEvent(msg, 'Ready')) {
      io.err('done\n');
      if (rolledBack) return 1;
      if (!('rollbackTo' in options) && options.probationMs) {
        onProbation = true;
        return undefined;
      }
      return 0;
    }
    if (msg.type === 'probation.ended') {
      onProbation = false;
      if (msg.outcome === 'passed') io.err('probation passed\n');
      else if (msg.outcome === 'ended') io.err(`probation ended: ${msg.reason}\n`);
      else io.err(`Deploy rolled back: ${msg.reason}.\n`);
      rolledBack = msg.outcome === 'failed';
      return rolledBack ? undefined : 0;
    }
    // Ctrl+C during the probation ends it; there is no deploy left to abort.
    if (onProbation && isEvent(msg, 'ErrorNoDeployInProgress')) return undefined;
    if (msg.type === 'notice' && msg.code === 'DEPLOY_LOST') {
      io.err(msg.message + '\n');
      return 1;
    }
    return printOther(io, msg);
  }, (send) => {
    onSigint = () => {
      io.err('aborting deploy\n');
      send({ type: 'cmd.deploy-abort', requestId: newRequestId() });
    };
    process.once('SIGINT', onSigint);
  });
  return result.finally(() => {
    progress.finish();
    if (onSigint) process.off('SIGINT', onSigint);
  });
}

/**
 * `naught upgrade`: the running daemon hands over to this command's naught, which boots a
 * full set of workers on the same sockets before the old ones drain. Prints the upgrade as
 * a deploy (the new daemon's workers as new_online), then `upgraded naught X -> Y`.
 */
export function upgrade(plainIo: Io, ipcFile: string): Promise<number> {
  const progress = createPoolProgress(plainIo, process.stderr.isTTY === true, 'upgrade');
  const io = progress.io;
  return talk(io, ipcFile, 1, (requestId) => ({ type: 'cmd.upgrade', requestId, daemonEntry: DAEMON_ENTRY }), (msg) => {
    if (msg.type === 'upgrade.progress') {
      if (msg.event) {
        progress.saw(msg.event);
        io.err(formatEvent(msg.event) + '\n');
      }
      if (msg.line) io.err(msg.line + '\n');
      return undefined;
    }
    if (msg.type !== 'upgrade.ended') return undefined;
    progress.finish();
    if (msg.outcome === 'done') io.err(`upgraded naught ${msg.from} -> ${msg.to}\n`);
    else io.err(`naught upgrade: ${msg.reason}\n`);
    return msg.outcome === 'done' ? 0 : 1;
  }).finally(progress.finish);
}

/** `naught history`: the last generations, the running one marked `*`; --json: as the daemon keeps them, environment values masked. */
export function history(io: Io, ipcFile: string, json: boolean): Promise<number> {
  return talk(io, ipcFile, 1, (requestId) => ({ type: 'cmd.history', requestId }), (msg) => {
    if (msg.type !== 'history.list') return undefined;
    io.out(json ? JSON.stringify({ current: msg.current, generations: msg.generations }, null, 2) + '\n' : formatHistory(msg.generations, msg.current));
    return 0;
  });
}

export function deployAbort(io: Io, ipcFile: string): Promise<number> {
  return talk(io, ipcFile, 1, (requestId) => ({ type: 'cmd.deploy-abort', requestId }), (msg) => {
    if (isEvent(msg, 'ErrorNoDeployInProgress')) {
      io.err('no deploy in progress\n');
      return 1;
    }
    if (isEvent(msg, 'Ready')) {
      io.err('deploy aborted\n');
      return 0;
    }
    return printOther(io, msg);
  });
}

export function reopenLogs(io: Io, ipcFile: string): Promise<number> {
  return talk(io, ipcFile, 1, (requestId) => ({ type: 'cmd.reopen-logs', requestId }), (msg) => {
    if (msg.type === 'logs.reopened') {
      io.err('logs reopened\n');
      return 0;
    }
    return printOther(io, msg);
  });
}

export function printTraceFile(io: Io, out: trace.TraceOutput, file: string, filter: trace.TraceFilter): Promise<number> {
  return trace.printTraceFile(out, io.err, file, filter);
}

export async function followTrace(io: Io, out: trace.TraceOutput, ipcFile: string, filter: trace.TraceFilter): Promise<number> {
  const socket = await connect(io, ipcFile, 1);
  return typeof socket === 'number' ? socket : trace.followTrace(out, io.err, socket, filter);
}

/** From the running daemon; without one, from the files. */
export async function logs(io: Io, ipcFile: string, options: LogsOptions): Promise<number> {
  const found = await probe(ipcFile);
  if (found.state === 'running') return logsFromDaemon(io, process.stdout, found.socket, options);
  if (found.state !== 'error') return logsFromFiles(io, ipcFile, options);
  io.err(`unable to connect to ipc-file \`${ipcFile}\`: ${found.error.message}\n`);
  return 1;
}

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

/**
 * On a terminal, what the workers that died wrote last to stderr, after naught's line
 * about the failure: the reason (a MODULE_NOT_FOUND, a stack) is then where one looks.
 */
function lastWordsPrinter(io: Io, tty: boolean) {
  const heard: MessageOf<'worker.last-words'>[] = [];
  let failed = false;
  const print = ({ slot, pid, lines }: MessageOf<'worker.last-words'>) => {
    io.err(`Worker ${slot} (pid ${pid}) wrote before it died, on stderr:\n${lines.map((line) => `  ${line}\n`).join('')}`);
  };
  return {
    heard(msg: MessageOf<'worker.last-words'>): undefined {
      if (!tty) return undefined;
      if (failed) print(msg);
      else heard.push(msg);
      return undefined;
    },
    /** After naught's line that the boot or deploy failed; later ones print as they come. */
    failed(): void {
      failed = true;
      if (tty) for (const msg of heard.splice(0)) print(msg);
    },
  };
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
