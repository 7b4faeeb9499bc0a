// The daemon: owns the pid file, the logs and the signals, keeps the release the workers
// run, supervises the master process (starting a new one if it dies), and wires the
// daemon's actors: the control socket, the logs, the trace, health, plugins, upgrades.
//
//   CLI ──unix socket──▶ daemon ──fd 3──▶ master ──cluster IPC──▶ workers
import fs from 'node:fs';
import path from 'node:path';
import type { Bus } from '../bus/bus.js';
import { CONTROL_COMMANDS, isControlCommand, type DaemonConfig, type Envelope, type MessageOf, type MessageType, type ServerConfig } from '../bus/messages.js';
import { finishCompressing } from '../logs/compressor.js';
import { childStdio, fileOf, logTarget } from '../logs/log-file.js';
import { removeOwnFile, writeFileRefusingForeign } from '../files/owned-paths.js';
import type { ChildSupervisor } from '../supervision/child-supervisor.js';
import { MASTER_BOOT_FAILED } from '../supervision/constants.js';
import { createControlSocketActor } from './control-socket.js';
import { createEventLogActor } from './event-log.js';
import { createHandOverActor } from './hand-over.js';
import { createLogFeedActor } from './log-feed.js';
import { createLogRotatorActor } from './log-rotator.js';
import { superviseMaster } from './master-process.js';
import { createPluginSupervisorActor, type PluginSupervisor } from './plugin-supervisor.js';
import { createStatusReportActor } from './status-report.js';
import { createGenerationsActor } from './generations.js';
import { healthAddress } from '../cluster/addresses.js';
import { createSystemdNotifyActor, type SystemdNotify } from './systemd-notify.js';
import { createUpgradeActor } from './upgrade.js';
import { packageVersion } from '../version.js';
import { listenersForDaemon } from '../cluster/listeners.js';
import { createProbationActor } from './probation.js';
import { createTracerActor } from './tracer.js';

/**
 * The log rotator answers reopen-logs, the log feed logs, the status report inspect (with
 * the master's census), the generations history and rollback (a rollback is a deploy);
 * the master, the rest.
 */
const ANSWERED_HERE: readonly MessageType[] = ['cmd.reopen-logs', 'cmd.logs', 'cmd.inspect', 'cmd.history', 'cmd.rollback', 'cmd.upgrade'];
const FOR_MASTER: readonly MessageType[] = CONTROL_COMMANDS.filter((type) => !ANSWERED_HERE.includes(type));
const ZERO = { booting: 0, online: 0, dying: 0, new_online: 0 };

export interface DaemonDeps {
  bus: Bus;
  config: DaemonConfig;
  /** Foreground: `-` logs go to our own stdout/stderr. */
  foreground: boolean;
  /** Called once the control socket listens and the pid file is written. */
  onListening?: () => void;
  /** `naught upgrade`: this daemon takes over from the one that started it. */
  takeOver?: MessageOf<'cmd.take-over'>;
}

export interface Daemon {
  /** Resolves with the exit status once the daemon has shut down. */
  done: Promise<number>;
}

export class DaemonStartError extends Error {}

const startError = (error: Error) => new DaemonStartError(error.message, { cause: error });

export async function createDaemonActor({ bus, config, foreground, onListening, takeOver }: DaemonDeps): Promise<Daemon> {
  // The release the workers run, which a new master boots; a deploy's becomes it once its
  // new workers have replaced the old (deploy.settled), never before.
  let server: ServerConfig = takeOver?.release ?? {
    script: config.script, args: config.args, workerCount: config.workerCount, cwd: config.cwd, nodeArgs: config.nodeArgs,
    env: { ...config.env }, drain: config.drain, drainRecentMs: config.drainRecentMs, bootTimeoutMs: config.bootTimeoutMs,
    workerTimeoutMs: config.workerTimeoutMs, maxWorkerMemoryBytes: config.maxWorkerMemoryBytes, ready: config.ready, envFile: config.envFile ?? null,
  };
  const targets = { stdout: logTarget(config.stdout), stderr: logTarget(config.stderr) };
  const activated = takeOver ? { fds: takeOver.fds.listeners, names: takeOver.fds.listenerNames }
    : await listenersForDaemon(config.listen).catch((error: Error) => { throw startError(error); });
  // First on the bus: a command's asker is known before anything answers it.
  const control = createControlSocketActor({ bus, ipcFile: config.ipcFile });
  let master: ChildSupervisor | null = null;
  const feed = createLogFeedActor({ bus, files: { stdout: fileOf(targets.stdout), stderr: fileOf(targets.stderr) }, askerOf: control.clientOf });
  const rotator = await createLogRotatorActor({ bus, config, foreground, feed }).catch((error: Error) => {
    feed.close();
    throw startError(error);
  });
  const tracer = config.trace === null ? null : await createTracerActor({
    bus, file: config.trace, maxSize: config.maxLogSize, maxFiles: config.maxLogFiles,
  }).catch(async (error: Error) => {
    await rotator.close();
    throw startError(error);
  });
  const masterAnswering = () => master?.current()?.link.answering() ?? false;
  // Loaded only with --health: node:http is memory a daemon without it need not hold.
  const health = config.health === null ? null
    : (await import('./health.js')).createHealthActor({ bus, address: healthAddress(config.health)!, masterAnswering, fd: takeOver?.fds.health });
  // Taking over, the health socket is served once handed over: until then the old daemon answers, with the workers it has.
  if (!takeOver) await health?.serve().catch(async (error: Error) => {
    await tracer?.close();
    await rotator.close();
    throw startError(error);
  });
  const stopEventLog = createEventLogActor({ bus, sink: rotator.eventSink });
  // Under systemd (Type=notify) the foreground daemon is the unit's main process; one that
  // takes over by `naught upgrade` becomes it once the old one hands over.
  const startNotify = (tookOver: boolean): SystemdNotify | null => (foreground
    ? createSystemdNotifyActor({ bus, masterAnswering, tookOver, warn: (line) => { process.stderr.write(`naught: ${line}\n`); } })
    : null);
  let notify = takeOver ? null : startNotify(false);
  if (!takeOver) {
    await control.listen().catch((error: Error) => { throw startError(error); });
    await writePidFile(config.pidFile);
  }

  let firstBoot = true;
  let shuttingDown = false;
  const deploying = new Map<string, ServerConfig>();
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => { finish = resolve; });

  const offs = [
    bus.onAny(answerWithoutMaster),
    bus.on('cmd.deploy', ({ requestId, env, cwd, workerCount, script }) => {
      deploying.set(requestId, {
        ...server, env: env ? { ...server.env, ...env } : server.env, cwd: cwd ?? server.cwd, workerCount: workerCount > 0 ? workerCount : server.workerCount,
        script: script ?? config.script,
      });
    }),
    // A refused deploy is answered with a reply: it changes nothing.
    bus.on('pool.reply', ({ requestId }) => { deploying.delete(requestId); }),
    bus.on('deploy.settled', ({ requestId, running }) => {
      const release = deploying.get(requestId);
      deploying.delete(requestId);
      if (running === 'new' && release) server = release;
    }),
    bus.on('cmd.stop', () => void master?.stop()),
    bus.on('pool.event', ({ event }) => {
      if (event !== 'Ready') return;
      master?.markReady();
      firstBoot = false;
      if (takeOver && !handOver.owns()) bus.publish({ type: 'upgrade.ready', pid: process.pid, version: packageVersion() });
    }),
  ];
  const signals: [NodeJS.Signals, () => void][] = [
    ['SIGTERM', () => stopFromSignal('SIGTERM')],
    ['SIGINT', () => stopFromSignal('SIGINT')],
    ['SIGHUP', () => bus.publish({ type: 'cmd.deploy', requestId: 'signal:SIGHUP', workerCount: 0, env: null, cwd: null, timeoutMs: null })],
    ['SIGUSR2', () => bus.publish({ type: 'cmd.reopen-logs', requestId: 'signal:SIGUSR2' })],
  ];
  for (const [signal, handler] of signals) process.on(signal, handler);

  const startPlugins = () => createPluginSupervisorActor({
    bus, plugins: config.plugins, cwd: config.cwd, writeLog: (line) => { rotator.eventSink?.write(line + '\n'); },
  });
  let plugins: PluginSupervisor | null = takeOver ? null : startPlugins();
  const generations = createGenerationsActor({ bus, config, release: () => server, deploying: (requestId) => deploying.get(requestId) });
  const stopProbation = createProbationActor({ bus });
  const stopStatusReport = createStatusReportActor({
    bus, config, release: () => server, plugins: () => plugins?.list() ?? [], logs: () => rotator.stats(), trace: () => tracer?.stats() ?? null,
    master: () => { const pid = master?.current()?.child.pid; return pid ? { pid, restarts: master!.starts - 1 } : null; },
  });
  const handOver = createHandOverActor({
    bus, control, health, listeners: activated,
    busy: () => (!master?.current()?.readySince || deploying.size > 0 ? 'the workers are booting or a deploy is under way; try again once it is over' : null),
    take: () => ({ config, release: server, generation: generations.current(), foreground, fromPid: process.pid }),
    successorStatus: (requestId) => [
      { type: 'plugin.list', requestId, plugins: [] },
      { type: 'pool.reply', requestId, event: 'Status', waitingFor: null, count: { ...ZERO, online: server.workerCount } },
    ],
    async giveUp(newDaemonPid) {
      notify?.handOver(newDaemonPid);
      notify = null;
      await plugins?.close();
      plugins = null;
    },
    async takeUp() {
      await writePidFile(config.pidFile);
      plugins = startPlugins();
      notify = startNotify(true);
      await health?.serve();
    },
  }, takeOver);
  const stopUpgrade = createUpgradeActor({ bus, state: handOver.state, handOver: handOver.handOver, askerGone: control.askerGone });
  onListening?.();
  master = superviseMaster({
    bus, release: () => server, listeners: activated, logs: rotator,
    output: { stdout: childStdio(targets.stdout, foreground), stderr: childStdio(targets.stderr, foreground) },
    boot: () => ({ firstBoot, startScript: config.script, generation: firstBoot && takeOver?.generation ? takeOver.generation : generations.bootGeneration(firstBoot) }),
    mayRestart({ pid, code, how }) {
      if (code === MASTER_BOOT_FAILED && firstBoot) return false;
      // Taking over by `naught upgrade`, a master that dies before Ready fails the upgrade: the old daemon runs on.
      if (takeOver && firstBoot) {
        bus.publish({ type: 'notice', code: 'MASTER_DIED', message: `The master process ${pid} died (${how}) before the new workers were online.` });
        return false;
      }
      if (deploying.size > 0) {
        deploying.clear();
        bus.publish({
          type: 'notice', code: 'DEPLOY_LOST',
          message: `The master process ${pid} died during a deploy: the deploy failed, and the new master runs the last release that was ready.`,
        });
      }
      return true;
    },
    ended: (_exit, why) => void shutDown(why === 'declined' ? 1 : 0),
  });
  return { done };

  /** A command the master answers, asked while none runs, is answered here at once. */
  function answerWithoutMaster({ msg }: Envelope): void {
    if (!isControlCommand(msg.type) || !('requestId' in msg)) return;
    if (msg.type === 'cmd.status') bus.publish({ type: 'plugin.list', requestId: msg.requestId, plugins: plugins?.list() ?? [] });
    if (!FOR_MASTER.includes(msg.type) || master?.current() || msg.type === 'cmd.stop') return;
    bus.publish({ type: 'pool.reply', requestId: msg.requestId, event: 'ErrorStillBooting', waitingFor: null, count: ZERO });
  }

  function stopFromSignal(signal: NodeJS.Signals): void {
    bus.publish({ type: 'cmd.stop', requestId: `signal:${signal}`, timeoutMs: null });
  }

  async function shutDown(code: number): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    for (const [signal, handler] of signals) process.off(signal, handler);
    // The pid file and socket go first, so that a `start` right after `stop` finds nothing stale.
    // A daemon that handed them over by `naught upgrade` (or never took them) leaves them be.
    const owns = handOver.owns();
    if (owns) {
      removeOwnFile(config.pidFile);
      control.close();
    }
    bus.publish({ type: 'pool.event', event: 'Shutdown', waitingFor: null, count: ZERO });
    for (const off of offs) off();
    stopStatusReport();
    // A server closed unlinks its unix socket path, which the new daemon serves on after `naught upgrade`.
    if (owns) await health?.close();
    notify?.close();
    stopUpgrade();
    handOver.close();
    generations.close();
    stopProbation();
    await plugins?.close();
    stopEventLog();
    await tracer?.close();
    await rotator.close();
    feed.close();
    await finishCompressing();
    // Clients that saw Shutdown wait for this close: by now naught.log is complete.
    control.disconnectClients();
    finish(code);
  }
}

async function writePidFile(pidFile: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(pidFile), { recursive: true });
  writeFileRefusingForeign(pidFile, `${process.pid}\n`);
}
