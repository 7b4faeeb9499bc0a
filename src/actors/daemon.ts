// The daemon: owns the control socket, the pid file, the logs and the signals, and
// supervises the master process, starting a new one if it dies.
//
//   CLI ──unix socket──▶ daemon ──fd 3──▶ master ──cluster IPC──▶ workers
//
// Replies (REPLY_TYPES in the catalogue) go to the client that asked and to the clients that
// follow the bus (`trace --follow`); everything else reaches every client that asked for its type.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Bus } from '../bus/bus.js';
import { spawnWithPipe } from '../bus/fd3.js';
import { createLink, type Link } from '../bus/link.js';
import { CONTROL_COMMANDS, REPLY_TYPES, type DaemonConfig, type Envelope, type Message, type MessageOf, type MessageType, type OutputMode, type PoolEvent, type ServerConfig } from '../bus/messages.js';
import { finishCompressing } from '../logs/compressor.js';
import { logTarget, type LogTarget } from '../logs/log-file.js';
import { MAX_SOCKET_PATH_BYTES, removeOwnFile, removeSocketPath, writeFileRefusingForeign } from '../files/owned-paths.js';
import { nextBackoff } from '../pool/backoff.js';
import { MASTER_HEARTBEAT, MASTER_BOOT_FAILED, SUPERVISOR_V8_FLAGS } from '../supervision.js';
import { createEventLogActor } from './event-log.js';
import { createLogFeedActor } from './log-feed.js';
import { createLogRotatorActor } from './log-rotator.js';
import { createPluginSupervisorActor, type PluginSupervisor } from './plugin-supervisor.js';
import { createStatusReportActor } from './status-report.js';
import { createGenerationsActor } from './generations.js';
import { healthAddress, listenSpec } from '../cluster/addresses.js';
import { createSystemdNotifyActor, type SystemdNotify } from './systemd-notify.js';
import { createUpgradeActor } from './upgrade.js';
import { packageVersion } from '../version.js';
import { activatedSockets, bindListeners } from '../cluster/listeners.js';
import { createProbationActor } from './probation.js';
import { createTracerActor } from './tracer.js';

const MASTER_ENTRY = fileURLToPath(new URL('../bin/master.js', import.meta.url));
const CLIENT_COMMANDS: readonly MessageType[] = CONTROL_COMMANDS;
/**
 * The log rotator answers reopen-logs, the log feed logs, the status report inspect (with
 * the master's census), the generations history and rollback (a rollback is a deploy);
 * the master, the rest.
 */
const ANSWERED_HERE: readonly MessageType[] = ['cmd.reopen-logs', 'cmd.logs', 'cmd.inspect', 'cmd.history', 'cmd.rollback', 'cmd.upgrade'];
const FOR_MASTER: readonly MessageType[] = CLIENT_COMMANDS.filter((type) => !ANSWERED_HERE.includes(type));
/** A client that stops reading (a stalled `trace --follow`) is dropped past this. */
const CLIENT_MAX_BUFFERED_BYTES = 1024 * 1024;
const CONTROL_BACKLOG = 2048;
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

export async function createDaemonActor({ bus, config, foreground, onListening, takeOver }: DaemonDeps): Promise<Daemon> {
  // The release the workers run, which a new master boots; a deploy's becomes it once its
  // new workers have replaced the old (deploy.settled), never before.
  let server: ServerConfig = takeOver?.release ?? {
    script: config.script, args: config.args, workerCount: config.workerCount, cwd: config.cwd, nodeArgs: config.nodeArgs,
    env: { ...config.env }, drain: config.drain, drainRecentMs: config.drainRecentMs, bootTimeoutMs: config.bootTimeoutMs,
    workerTimeoutMs: config.workerTimeoutMs, maxWorkerMemoryBytes: config.maxWorkerMemoryBytes,
  };
  const targets = { stdout: logTarget(config.stdout), stderr: logTarget(config.stderr) };
  const activated = takeOver ? { fds: takeOver.fds.listeners, names: takeOver.fds.listenerNames } : await ownedAndActivatedSockets(config);
  const clients = new Set<Link>();
  let master: { child: ChildProcess; link: Link; upSince: number | null } | null = null;
  const feed = createLogFeedActor({
    bus,
    files: { stdout: fileOf(targets.stdout), stderr: fileOf(targets.stderr) },
    askerOf: (origin) => (clients.has(origin as Link) ? origin as Link : null),
  });
  const rotator = await createLogRotatorActor({ bus, config, foreground, feed }).catch((error: Error) => {
    feed.close();
    throw new DaemonStartError(error.message, { cause: error });
  });
  const tracer = config.trace === null ? null : await createTracerActor({
    bus, file: config.trace, maxSize: config.maxLogSize, maxFiles: config.maxLogFiles,
  }).catch(async (error: Error) => {
    await rotator.close();
    throw new DaemonStartError(error.message, { cause: error });
  });
  const masterAnswering = () => master !== null && master.link.answering();
  // Loaded only with --health: node:http is memory a daemon without it need not hold.
  const health = config.health === null ? null
    : (await import('./health.js')).createHealthActor({ bus, address: healthAddress(config.health)!, masterAnswering, fd: takeOver?.fds.health });
  // Taking over, the health socket is served once handed over: until then the old daemon answers, with the workers it has.
  if (!takeOver) await health?.serve().catch(async (error: Error) => {
    await tracer?.close();
    await rotator.close();
    throw new DaemonStartError(error.message, { cause: error });
  });
  const stopEventLog = createEventLogActor({ bus, sink: rotator.eventSink });
  // Under systemd (Type=notify) the foreground daemon is the unit's main process; one that
  // takes over by `naught upgrade` becomes it once the old one hands over.
  const startNotify = (tookOver: boolean): SystemdNotify | null => (foreground
    ? createSystemdNotifyActor({ bus, masterAnswering, tookOver, warn: (line) => { process.stderr.write(`naught: ${line}\n`); } })
    : null);
  let notify = takeOver ? null : startNotify(false);
  /** Clients that want everything (`trace --follow`): they see every reply too. */
  const followers = new Set<Link>();
  const askers = new Map<string, Link>();
  // The control socket, the pid file and the plugins are this daemon's, or, while it takes
  // over by `naught upgrade`, still the old daemon's; and no longer, once it has handed over.
  let ownsControl = !takeOver;
  let controlServer = takeOver ? null : await listenOwnerOnly(config.ipcFile, (socket) => acceptClient(socket)).catch((error: Error) => {
    throw new DaemonStartError(error.message, { cause: error });
  });
  if (!takeOver) await writePidFile(config.pidFile);

  let mastersStarted = 0;
  let masterFailures = 0;
  let restartTimer: NodeJS.Timeout | null = null;
  let stopRequested = false;
  let firstBoot = true;
  const deploying = new Map<string, ServerConfig>();
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => { finish = resolve; });

  const offs = [
    bus.onAny(routeRequests),
    ...REPLY_TYPES.map((type) => bus.on(type, (msg, envelope, origin) => routeReply(msg.requestId, envelope as Envelope, origin))),
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
    bus.on('cmd.stop', () => { stopRequested = true; }),
    bus.on('pool.event', ({ event }) => {
      if (event === 'Ready' && master && master.upSince === null) {
        master.upSince = Date.now();
        firstBoot = false;
      }
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
    master: () => (master?.child.pid ? { pid: master.child.pid, restarts: mastersStarted - 1 } : null),
  });
  const stopUpgrade = createUpgradeActor({
    bus,
    state() {
      if (!ownsControl || !controlServer) return { refused: 'this daemon is handing over to another already' };
      if (activated.fds.length === 0) {
        return {
          refused: 'this naught holds no listening sockets, so the port would refuse connections while the old workers close and the new ones bind. ' +
            'Start naught with --listen ADDR (or under systemd socket activation) and serve with naught/worker\'s listen(server).',
        };
      }
      if (master === null || master.upSince === null || deploying.size > 0) return { refused: 'the workers are booting or a deploy is under way; try again once it is over' };
      return {
        take: { config, release: server, generation: generations.current(), foreground, fromPid: process.pid },
        control: descriptorOf(controlServer), listeners: activated, health: health ? descriptorOf(health.server) : null,
      };
    },
    async handOver(newDaemon) {
      ownsControl = false;
      notify?.handOver(newDaemon.pid!);
      notify = null;
      await plugins?.close();
      plugins = null;
      passConnections(controlServer!, 'control', newDaemon);
      if (health) {
        health.handedOver();
        passConnections(health.server, 'health', newDaemon);
        health.closeKeptAlive();
      }
      bus.publish({ type: 'cmd.stop', requestId: `upgrade:${newDaemon.pid}`, timeoutMs: null });
    },
    askerGone: (requestId) => askers.get(requestId)?.closed.then(() => {}) ?? new Promise(() => {}),
  });
  if (takeOver) {
    offs.push(
      bus.on('pool.event', ({ event }) => {
        if (event === 'Ready' && !ownsControl) bus.publish({ type: 'upgrade.ready', pid: process.pid, version: packageVersion() });
      }),
      bus.on('upgrade.handed-over', () => void takeControl(takeOver.fds.control)),
    );
    // What the old daemon accepts after handing over, it passes on here.
    process.on('message', (message: { naught?: string; to?: string } | null, handle: unknown) => {
      if (message?.naught !== 'connection' || !(handle instanceof net.Socket)) return;
      if (message.to === 'control') acceptClient(handle);
      else if (health) health.server.emit('connection', handle);
      else handle.destroy();
    });
  }
  onListening?.();
  spawnMaster();
  return { done };

  async function takeControl(fd: number): Promise<void> {
    if (ownsControl) return;
    ownsControl = true;
    controlServer = net.createServer(acceptClient).listen({ fd, backlog: CONTROL_BACKLOG });
    await writePidFile(config.pidFile);
    plugins = startPlugins();
    notify = startNotify(true);
    await health?.serve();
  }

  function acceptClient(socket: net.Socket): void {
    const link: Link = createLink(bus, socket, {
      name: 'daemon',
      wants: CLIENT_COMMANDS,
      maxBufferedBytes: CLIENT_MAX_BUFFERED_BYTES,
      routedByOwner: REPLY_TYPES,
      // Once `naught upgrade` handed over, a client accepted a moment before still talks to
      // this daemon, whose old workers are stopping: the status it asks for is the new
      // daemon's, which has a full set of workers online.
      admit: ({ msg }) => ownsControl || msg.type !== 'cmd.status',
      onRefused: ({ msg }) => {
        if (msg.type !== 'cmd.status') return;
        const answer = (reply: Message) => link.send({ seq: 0, time: Date.now(), sender: bus.name, msg: reply });
        answer({ type: 'plugin.list', requestId: msg.requestId, plugins: [] });
        answer({ type: 'pool.reply', requestId: msg.requestId, event: 'Status', waitingFor: null, count: { ...ZERO, online: server.workerCount } });
      },
    });
    clients.add(link);
    void link.ready.then((greeted) => { if (greeted && link.peerWants?.has('*')) followers.add(link); });
    void link.closed.then((error) => {
      clients.delete(link);
      followers.delete(link);
      for (const [id, asker] of askers) if (asker === link) askers.delete(id);
      if (error) bus.publish({ type: 'notice', code: 'LINK_CLOSED', message: `Dropped a control connection: ${error.message}` });
    });
  }

  /** Remembers who asked, and answers at once when no master is there to ask. */
  function routeRequests(envelope: Envelope, origin: unknown): void {
    const msg = envelope.msg;
    if (!CLIENT_COMMANDS.includes(msg.type) || !('requestId' in msg)) return;
    if (clients.has(origin as Link)) askers.set(msg.requestId, origin as Link);
    if (msg.type === 'cmd.status') bus.publish({ type: 'plugin.list', requestId: msg.requestId, plugins: plugins?.list() ?? [] });
    if (!FOR_MASTER.includes(msg.type)) return;
    if (master !== null) return;
    if (msg.type === 'cmd.stop') void shutDown(0);
    else bus.publish({ type: 'pool.reply', requestId: msg.requestId, event: 'ErrorStillBooting', waitingFor: null, count: ZERO });
  }

  /** A reply goes to the client that asked and to every follower, never to the rest. */
  function routeReply(requestId: string, envelope: Envelope, origin: unknown): void {
    const asker = askers.get(requestId);
    if (asker && asker !== origin && asker.peerWants?.has(envelope.msg.type)) asker.send(envelope);
    for (const follower of followers) if (follower !== asker && follower !== origin) follower.send(envelope);
  }

  function stopFromSignal(signal: NodeJS.Signals): void {
    bus.publish({ type: 'cmd.stop', requestId: `signal:${signal}`, timeoutMs: null });
  }

  function spawnMaster(): void {
    restartTimer = null;
    const stdio: StdioOptions = ['ignore', childStdio(targets.stdout, foreground), childStdio(targets.stderr, foreground)];
    // Activated sockets follow fd 3 (the bus) and fd 4 (the IPC channel) in the master.
    const socketsEnv = activated.fds.length === 0 ? {} : {
      NAUGHT_INHERITED_FDS: activated.fds.map((_, i) => String(5 + i)).join(','), NAUGHT_INHERITED_FDNAMES: activated.names.join(':'),
    };
    const { child, pipe } = spawnWithPipe([...SUPERVISOR_V8_FLAGS, ...server.nodeArgs, MASTER_ENTRY], {
      cwd: server.cwd,
      env: { ...process.env, ...server.env, ...socketsEnv },
      stdio: stdio as ['ignore', 'pipe', 'pipe'],
      handles: true,
      passFds: activated.fds,
    });
    const link = createLink(bus, pipe, { name: 'daemon', wants: ['*'], carrySecrets: true, heartbeat: MASTER_HEARTBEAT });
    void link.closed.then((error) => {
      if (error?.code !== 'LINK_PEER_UNRESPONSIVE' || child.exitCode !== null || child.signalCode !== null) return;
      bus.publish({ type: 'notice', code: 'MASTER_UNRESPONSIVE', message: `The master process ${child.pid} stopped answering for ${MASTER_HEARTBEAT.timeoutMs} ms; killing it.` });
      child.kill('SIGKILL');
    });
    master = { child, link, upSince: null };
    mastersStarted++;
    rotator.attach('stdout', child.stdout);
    rotator.attach('stderr', child.stderr);
    child.on('message', (message: unknown, handle: unknown) => {
      const { output: stream, pid } = (message ?? {}) as { output?: unknown; pid?: unknown };
      if (handle instanceof net.Socket && (stream === 'stdout' || stream === 'stderr')) rotator.adopt(stream, handle, typeof pid === 'number' ? pid : 0);
      else if (handle instanceof net.Socket) handle.destroy();
    });
    const output = { stdout: stdio[1] as OutputMode, stderr: stdio[2] as OutputMode };
    const generation = firstBoot && takeOver?.generation ? takeOver.generation : generations.bootGeneration(firstBoot);
    bus.publish({ type: 'cmd.boot', config: server, firstBoot, output, generation, startScript: config.script });
    child.on('exit', (code, signal) => {
      // Events the master sent just before exiting are still in the pipe: read them first.
      void link.closed.then(() => masterExited(code, signal));
    });
  }

  function masterExited(code: number | null, signal: NodeJS.Signals | null): void {
    const pid = master?.child.pid;
    const upSince = master?.upSince ?? null;
    master = null;
    if (stopRequested || code === 0) return void shutDown(0);
    if (code === MASTER_BOOT_FAILED && firstBoot) return void shutDown(1);
    // Taking over by `naught upgrade`, a master that dies before Ready fails the upgrade: the old daemon runs on.
    if (takeOver && firstBoot) {
      bus.publish({ type: 'notice', code: 'MASTER_DIED', message: `The master process ${pid} died (${signal ? `signal ${signal}` : `exit code ${code}`}) before the new workers were online.` });
      return void shutDown(1);
    }
    if (deploying.size > 0) {
      deploying.clear();
      bus.publish({
        type: 'notice', code: 'DEPLOY_LOST',
        message: `The master process ${pid} died during a deploy: the deploy failed, and the new master runs the last release that was ready.`,
      });
    }
    const backoff = nextBackoff(masterFailures, upSince, Date.now());
    masterFailures = backoff.failures;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    bus.publish({
      type: 'notice', code: 'MASTER_DIED',
      message: `The master process ${pid} died (${how}); starting a new master${backoff.delayMs ? ` in ${backoff.delayMs} ms` : ''}.`,
    });
    restartTimer = setTimeout(spawnMaster, backoff.delayMs);
  }

  async function shutDown(code: number): Promise<void> {
    if (restartTimer) clearTimeout(restartTimer);
    for (const [signal, handler] of signals) process.off(signal, handler);
    // The pid file and socket go first, so that a `start` right after `stop` finds nothing stale.
    // A daemon that handed them over by `naught upgrade` (or never took them) leaves them be.
    if (ownsControl) {
      removeOwnFile(config.pidFile);
      controlServer?.close();
      try {
        removeSocketPath(config.ipcFile);
      } catch {
        // Not a socket any more: somebody else's file now, which stays.
      }
    }
    const shutdown: PoolEvent = { event: 'Shutdown', waitingFor: null, count: ZERO };
    bus.publish({ type: 'pool.event', ...shutdown });
    for (const off of offs) off();
    stopStatusReport();
    // A server closed unlinks its unix socket path, which the new daemon serves on after `naught upgrade`.
    if (ownsControl) await health?.close();
    notify?.close();
    stopUpgrade();
    generations.close();
    stopProbation();
    await plugins?.close();
    stopEventLog();
    await tracer?.close();
    await rotator.close();
    feed.close();
    await finishCompressing();
    // Clients that saw Shutdown wait for this close: by now naught.log is complete.
    for (const client of clients) client.close();
    finish(code);
  }
}

const fileOf = (target: LogTarget): string | null => (target.kind === 'file' ? target.path : null);

async function ownedAndActivatedSockets(config: DaemonConfig): Promise<{ fds: number[]; names: string[] }> {
  const activatedBySystemd = activatedSockets();
  const owned = await bindListeners(config.listen.map((value, i) => listenSpec(value, i)!)).catch((error: Error) => {
    throw new DaemonStartError(error.message, { cause: error });
  });
  return { fds: [...activatedBySystemd.fds, ...owned.fds], names: [...activatedBySystemd.names, ...owned.names] };
}

async function writePidFile(pidFile: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(pidFile), { recursive: true });
  writeFileRefusingForeign(pidFile, `${process.pid}\n`);
}

const descriptorOf = (server: net.Server): number => (server as unknown as { _handle: { fd: number } })._handle.fd;

/**
 * After `naught upgrade` hands over: what this daemon still accepts on the shared socket goes
 * to the new daemon, unread. Closing the server instead would unlink the socket's path.
 */
function passConnections(server: net.Server, to: 'control' | 'health', newDaemon: ChildProcess): void {
  (server as net.Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    newDaemon.send({ naught: 'connection', to }, socket, undefined, (error) => { if (error) socket.destroy(); });
  });
}

function childStdio(target: LogTarget, foreground: boolean): 'pipe' | 'ignore' | 'inherit' {
  if (target.kind === 'file') return 'pipe';
  return target.kind === 'inherit' && foreground ? 'inherit' : 'ignore';
}

/** Listens with a umask that makes the socket 0600: only its owner may deploy or stop. */
async function listenOwnerOnly(ipcFile: string, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  // Longer paths would be cut short silently and the socket made somewhere else.
  if (Buffer.byteLength(ipcFile) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`the ipc-file path ${ipcFile} is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket path may have`);
  }
  await fs.promises.mkdir(path.dirname(ipcFile), { recursive: true });
  const server = net.createServer(onConnection);
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Room for a burst of clients: past the backlog a unix socket refuses at once (EAGAIN).
      server.listen({ path: ipcFile, backlog: CONTROL_BACKLOG }, () => { server.off('error', reject); resolve(); });
    });
  } finally {
    process.umask(previous);
  }
  return server;
}
