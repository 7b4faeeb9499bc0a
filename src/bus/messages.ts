// The message catalogue: the one place a message shape is defined. Every message is
// plain data that msgpack can carry. A message is `{ type, ...payload }`.
import { createRequire } from 'node:module';

/** naught 1.6's event names, in its printed form `<Event>. booting: …`. */
export const POOL_EVENTS = [
  'Bootup', 'SpawnNew', 'NewOnline', 'NewDeath', 'ShutdownOld', 'OldExit', 'Ready',
  'WorkerOnline', 'WorkerOffline', 'WorkerDeath', 'DeployFailed', 'Timeout',
  'DestroyNew', 'NewDestroyed', 'DestroyOld', 'Status', 'Shutdown',
  'ErrorDeployInProgress', 'ErrorShuttingDown', 'ErrorNoDeployInProgress',
  'AlreadyShuttingDown', 'UnrecognizedMessage', 'ErrorStillBooting',
] as const;
export type PoolEventName = (typeof POOL_EVENTS)[number];

/** Answers to one request (they carry its requestId): the daemon sends each to its asker, and to followers. */
export const REPLY_TYPES = ['pool.reply', 'plugin.list', 'logs.reopened', 'deploy.settled', 'logs.missed', 'logs.tailed', 'status.report', 'history.list', 'rollback.refused', 'probation.ended', 'upgrade.progress', 'upgrade.ended'] as const;

/** What the daemon sends every control client, asked or not: the events, notices and a dead worker's last lines. */
export const CLIENT_BROADCASTS = ['pool.event', 'notice', 'worker.last-words'] as const;

/** The commands a control client (the CLI, a plugin) may send the daemon. */
export const CONTROL_COMMANDS = ['cmd.deploy', 'cmd.deploy-abort', 'cmd.stop', 'cmd.status', 'cmd.reopen-logs', 'cmd.logs', 'cmd.inspect', 'cmd.history', 'cmd.rollback', 'cmd.upgrade'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];
export const isControlCommand = (type: MessageType): type is ControlCommand => (CONTROL_COMMANDS as readonly MessageType[]).includes(type);
/**
 * The commands a plugin may declare and publish: those a control client may send, but
 * `cmd.logs` (its lines go to a terminal) and `cmd.upgrade` (which runs the naught a CLI names).
 */
export type PluginCommand = Exclude<ControlCommand, 'cmd.logs' | 'cmd.upgrade'>;
export const PLUGIN_COMMANDS: readonly PluginCommand[] = CONTROL_COMMANDS.filter((type): type is PluginCommand => type !== 'cmd.logs' && type !== 'cmd.upgrade');

export type OutputMode = 'pipe' | 'inherit' | 'ignore';
export type WorkerStreamName = 'stdout' | 'stderr';

export type WorkerState = 'booting' | 'online' | 'dying' | 'new_online';
export type Counts = Record<WorkerState, number>;
export type WaitingFor = 'new' | 'old' | 'shutdown' | null;

/** What the master needs to run the user's server; kept by the daemon across master restarts. */
export interface ServerConfig {
  script: string;
  args: string[];
  workerCount: number;
  cwd: string;
  nodeArgs: string[];
  env: Record<string, string>;
  /** `auto`: the worker preload drains keep-alive connections on close (worker-preload.cts); `off`: Node's close. */
  drain: DrainMode;
  /** An idle keep-alive connection used within this time may still bring a request. */
  drainRecentMs: number;
  /** `start --timeout`: a boot with workers still booting this long fails; null waits, as naught 1.6. */
  bootTimeoutMs: number | null;
  /** `start --worker-timeout`: a naught/worker worker silent this long after a heartbeat is replaced; null: off. */
  workerTimeoutMs: number | null;
  /** `start --max-worker-memory`: a worker above this RSS for two samples in a row is replaced; null: off. */
  maxWorkerMemoryBytes: number | null;
  /** `start --ready`: when a worker counts as online (absent from an older naught: `online`). */
  ready: ReadyMode;
  /** `start --env-file`: a dotenv file read afresh at every boot and deploy (env-file.ts); null: none. */
  envFile?: string | null;
}

export type DrainMode = 'auto' | 'off';
/**
 * `online`: the worker says so (naught 1.6's protocol); `listening`: its first server
 * listens; a number: it has lived that many ms (einhorn's timer ack, for workers that serve
 * no port). Under the last two naught also shuts the worker down for it.
 */
export type ReadyMode = 'online' | 'listening' | number;

export interface LogPaths {
  log: string;
  stdout: string;
  stderr: string;
  maxLogSize: number;
  /** Archives kept per log; 0 keeps all, as naught. */
  maxLogFiles: number;
}

/** A plugin as `--plugin MODULE[=JSON]` gave it, resolved by the CLI. */
export interface PluginSpec {
  module: string;
  /** The file to import, absolute. */
  file: string;
  options: Record<string, unknown>;
}

export interface DaemonConfig extends ServerConfig, LogPaths {
  ipcFile: string;
  pidFile: string;
  /** Where to record every bus message (msgpack frames); null: off. */
  trace: string | null;
  plugins: PluginSpec[];
  /** `start --health ADDR`: where /livez, /readyz and /status are served; null: off. */
  health: string | null;
  /** `start --listen [name=]ADDR` (repeatable): sockets the daemon binds and every worker serves on. */
  listen: string[];
}

export interface PoolEvent {
  event: PoolEventName;
  waitingFor: WaitingFor;
  count: Counts;
}

interface Request { requestId: string }

export interface Catalogue {
  /** First frame on every link: who this end is and which types it wants forwarded. */
  'link.hello': { name: string; wants: string[] };
  /** Liveness check of a link's peer; answered by the peer's link, never seen on a bus. */
  'link.ping': { n: number };
  'link.pong': { n: number };

  // Commands. The CLI sends them to the daemon, which passes them on to the master.
  /** CLI → daemon in daemon mode: start serving with this configuration. */
  'cmd.start': { config: DaemonConfig };
  /**
   * daemon → master: boot the pool (a deploy from zero workers); output: how its fd 1 and 2
   * were given; generation: the number its workers get (the history's current one after a
   * master restart, the next one on a start); startScript: what a deploy runs (config.script
   * is the release's, a rollback's real path maybe).
   */
  'cmd.boot': { config: ServerConfig; firstBoot: boolean; output: { stdout: OutputMode; stderr: OutputMode }; generation: number; startScript: string };
  /** Reopen the log files (after logrotate moved them). */
  'cmd.reopen-logs': Request;
  /** workerCount 0 keeps the current count; env entries are added to or replace the server's. */
  'cmd.deploy': Request & {
    workerCount: number; env: Record<string, string> | null; cwd: string | null; timeoutMs: number | null;
    /** A rollback's release script (a real path); absent or null: the script naught was started with. */
    script?: string | null;
    /** `deploy --probation S`: watch the new workers this long after Ready, and roll back if one fails. */
    probationMs?: number | null;
    /** `deploy --batch-size N`: replace N workers at a time; absent or null: all at once, as naught. */
    batchSize?: number | null;
  };
  'cmd.deploy-abort': Request;
  'cmd.stop': Request & { timeoutMs: number | null };
  'cmd.status': Request;
  /** `naught history`: the last generations, answered by history.list. */
  'cmd.history': Request;
  /** `naught rollback`: deploy a generation's release again (default: the one before the current); a refusal is rollback.refused. */
  'cmd.rollback': Request & { to: number | null };
  /** `status --json`, `status --workers`, metrics: the whole state, answered by status.report. */
  'cmd.inspect': Request;
  /** `naught upgrade`: replace this daemon and its master with the naught whose daemon is daemonEntry (the CLI's own), keeping the sockets. */
  'cmd.upgrade': Request & { daemonEntry: string };
  /**
   * Old daemon → the new daemon it spawned, on fd 3: run this configuration and release,
   * serving on the descriptors passed after fd 3 and the IPC channel; the control socket is
   * accepted on only once the old daemon says upgrade.handed-over.
   */
  'cmd.take-over': {
    config: DaemonConfig; release: ServerConfig; generation: number | null; foreground: boolean; fromPid: number;
    fds: { control: number; listeners: number[]; listenerNames: string[]; health: number | null };
  };
  /** New daemon → old: its workers are online; it can take the control socket. */
  'upgrade.ready': { pid: number; version: string };
  /** Old daemon → new: it no longer answers; the control socket, pid file, plugins and systemd are the new daemon's. */
  'upgrade.handed-over': { fromPid: number };
  /** What an upgrade is doing, for its asker: the two pools' events told as one deploy (new counts as new_online), or a line. */
  'upgrade.progress': Request & { event: PoolEvent | null; line: string | null };
  /** The upgrade is over: done (the old daemon exits next), failed (the old one runs on) or refused. */
  'upgrade.ended': Request & { outcome: 'done' | 'failed' | 'refused'; from: string; to: string | null; reason: string | null };
  /** `naught logs`: the last `lines` lines of the workers' output, then, if `follow`, the rest as it comes. */
  'cmd.logs': Request & { lines: number; streams: WorkerStreamName[]; follow: boolean };

  // Facts about single workers, from the worker proxies in the master.
  'worker.spawned': { workerId: number; slot: number; pid: number };
  'worker.online': { workerId: number; slot: number; pid: number };
  'worker.offline': { workerId: number; slot: number; pid: number };
  'worker.exited': { workerId: number; slot: number; pid: number; code: number | null; signal: string | null };
  /** The census asks the workers that report (naught/worker's, which report once at online()) for their metrics, for one status report. */
  'worker.metrics-asked': Request & { workerIds: number[] };
  /** What `naught/worker` reports when asked over the worker's IPC channel (naught 1.6 ignored such messages). */
  'worker.metrics': { workerId: number; slot: number; pid: number; lagMs: EventLoopLag; heapUsedBytes: number };
  /** The last lines (at most 20) a worker that died wrote to stderr, from the daemon's log rotator. */
  'worker.last-words': { workerId: number; slot: number; pid: number; lines: string[] };
  /** A worker proxy's watchdog: a worker that sent heartbeats has sent none for silentMs. */
  'worker.hung': { workerId: number; slot: number; pid: number; silentMs: number };
  /** The master's memory watch: a worker's RSS was above the ceiling for two samples in a row. */
  'worker.over-memory': { workerId: number; slot: number; pid: number; rssBytes: number; limitBytes: number };
  /** The pool's decision: a replacement starts, and the worker goes once it is online (hung: killed; memory: drained). */
  'worker.replacing': { workerId: number; slot: number; reason: 'hung' | 'memory' };
  /** master → one worker proxy: disconnect it, after sending 'shutdown' if notify. */
  'worker.shutdown': { workerId: number; notify: boolean };
  /** master → one worker proxy: SIGKILL, for timeouts and aborts. */
  'worker.kill': { workerId: number };

  /** A pool event in naught's vocabulary, for everyone. */
  'pool.event': PoolEvent;
  /** A pool event that answers one request (Status, refusals): only its asker gets it. */
  'pool.reply': PoolEvent & Request;
  /** A deploy is over: its new workers replaced the old (`new`), or were destroyed (`old`); generation: the deploy's number. */
  'deploy.settled': Request & { running: 'new' | 'old'; generation: number };
  /** Answers cmd.history: the last 20 generations, oldest first, and the one running now. */
  'history.list': Request & { generations: Generation[]; current: number | null };
  /** The probation of a deploy is over: passed, failed (a rollback follows under the same request id), or ended by an abort, a stop or another deploy. */
  'probation.ended': Request & { generation: number; outcome: 'passed' | 'failed' | 'ended'; reason: string | null };
  /** Answers a cmd.rollback that cannot be done (no such generation, its release gone). */
  'rollback.refused': Request & { reason: string };

  /** The master's half of a status.report: itself, its pool and each worker, sampled. */
  'master.census': Request & { master: { pid: number; rssBytes: number | null }; pool: PoolReport; workers: WorkerReport[] };
  /** Answers cmd.inspect: the document `status --json` prints (schema: docs/status.schema.json). */
  'status.report': Request & { report: StatusReport };

  'log.rotated': { stream: LogName; archive: string };
  /** Answers cmd.reopen-logs once every log file is open again. */
  'logs.reopened': Request;
  /**
   * Whole lines of one stream for a `cmd.logs` asker. Worker output is data: the log feed
   * sends these to the asker alone, never on a bus, so the trace and plugins never hold it.
   */
  'logs.lines': Request & { stream: WorkerStreamName; data: Uint8Array };
  /** A `naught logs --follow` reader fell behind: this many lines were not sent to it (the files have them). */
  'logs.missed': Request & { lines: number };
  /** The tail asked for by `cmd.logs` is sent; the files the streams go to (null: not a file). */
  'logs.tailed': Request & { files: Record<WorkerStreamName, string | null>; following: boolean };
  /** A plugin host loaded its plugin; the daemon admits from it only the commands it declares. */
  'plugin.ready': { name: string; publishes: MessageType[] };
  /** Answers cmd.status alongside the pool's Status: the daemon's plugins, for `naught status`. */
  'plugin.list': Request & { plugins: PluginInfo[] };

  /** Something a human should read: an error or a supervisor decision beyond naught's events. */
  'notice': { code: NoticeCode; message: string };
}

/** What an old daemon gives the new one in `naught upgrade`, or why it cannot now. */
export interface TakeOverState {
  take: Omit<MessageOf<'cmd.take-over'>, 'type' | 'fds'>;
  /** Descriptors of this process, passed in this order after the new daemon's fd 3 and IPC channel. */
  control: number;
  listeners: { fds: number[]; names: string[] };
  health: number | null;
}

/** A release that reached Ready: what `naught rollback` deploys again. */
export interface Generation {
  generation: number;
  /** When it became Ready (ISO). */
  at: string;
  /** Real paths, symlinks resolved: a moved `current` link does not move them. */
  script: string;
  cwd: string;
  /** The environment it ran with (masked on the bus, in full in the 0600 file), and the names this release changed. */
  env: Record<string, string>;
  envChanged: string[];
  workerCount: number;
}

export interface EventLoopLag { p50: number; p99: number; max: number }

export interface PoolReport {
  counts: Counts;
  waitingFor: WaitingFor;
  workerCount: number;
  /** The boot or deploy under way. */
  deploy: { startedAt: string; phase: 'new' | 'old'; targetWorkerCount: number; requestedBy: string | null } | null;
}

export interface WorkerReport {
  slot: number;
  pid: number;
  state: WorkerState | 'destroyed' | 'waiting';
  /** The boot (1) or deploy (2, 3, …) that started it; a replacement keeps its slot's. */
  generation: number;
  uptimeSeconds: number;
  /** Times its slot's worker was replaced after an exit. */
  restarts: number;
  lastExit: { code: number | null; signal: string | null; at: string } | null;
  /** Sampled from /proc when asked, at most every 5 s; null where that cannot be read. */
  rssBytes: number | null;
  cpuPercent: number | null;
  /** From naught/worker's reports; null for workers without it. */
  lagMs: EventLoopLag | null;
  heapUsedBytes: number | null;
}

export interface LogReport {
  name: LogName;
  path: string;
  bytesWritten: number;
  linesWritten: number;
  linesDropped: number;
  /** Archives this daemon made by rotating the file. */
  archives: number;
}

export interface TraceReport {
  path: string;
  bytesWritten: number;
  /** Messages not recorded because the disk could not keep up. */
  framesDropped: number;
}

export interface StatusReport {
  running: true;
  daemon: {
    pid: number; version: string; uptimeSeconds: number; rssBytes: number; ipcFile: string; pidFile: string; paths: { log: string; stdout: string; stderr: string };
    /** How the running release's workers close (`start --drain`, `--drain-recent-ms`). */
    drain: { mode: DrainMode; recentMs: number };
  };
  master: { pid: number; rssBytes: number | null; restarts: number } | null;
  pool: PoolReport | null;
  workers: WorkerReport[];
  plugins: PluginInfo[];
  logs: LogReport[];
  /** `start --trace`; null when off. */
  trace: TraceReport | null;
}

export interface PluginInfo {
  /** The module as given to --plugin. */
  module: string;
  /** The name the plugin gave itself, once loaded. */
  name: string | null;
  state: 'starting' | 'running' | 'restarting' | 'failed';
  pid: number | null;
  restarts: number;
}

export type LogName = 'stdout' | 'stderr' | 'naught.log';

export type NoticeCode =
  | 'DAEMON_START_FAILED' | 'MASTER_DIED' | 'WORKER_BACKOFF' | 'LOG_WRITE_FAILED' | 'LOG_RECOVERED' | 'LOG_REOPENED'
  | 'WORKER_HUNG' | 'WORKER_OVER_MEMORY' | 'HISTORY_WRITE_FAILED' | 'LINK_CLOSED' | 'DAEMON_FAULT' | 'DEPLOY_LOST' | 'MASTER_UNRESPONSIVE' | 'PLUGIN_FAILED' | 'PLUGIN_DIED' | 'PLUGIN_LOG' | 'TRACE_DROPPED' | 'UPGRADE'
  | 'HISTORY_REFUSED' | 'PLUGIN_REFUSED' | 'ENV_FILE_UNREADABLE';

export type MessageType = keyof Catalogue;
export type MessageOf<T extends MessageType> = { type: T } & Catalogue[T];
export type Message = { [T in MessageType]: MessageOf<T> }[MessageType];

export interface Envelope<M = Message> {
  seq: number;
  time: number;
  sender: string;
  msg: M;
}

// A record, so that adding a type to the catalogue without listing it here fails to compile.
const KNOWN_TYPES: Record<MessageType, true> = {
  'link.hello': true, 'link.ping': true, 'link.pong': true, 'plugin.ready': true, 'plugin.list': true, 'cmd.start': true, 'cmd.boot': true, 'cmd.deploy': true,
  'cmd.deploy-abort': true, 'cmd.stop': true, 'cmd.status': true, 'cmd.reopen-logs': true, 'worker.spawned': true,
  'worker.online': true, 'worker.offline': true, 'worker.exited': true, 'worker.last-words': true, 'worker.shutdown': true,
  'worker.kill': true, 'pool.event': true,
  'pool.reply': true, 'deploy.settled': true, 'log.rotated': true, 'logs.reopened': true, 'notice': true,
  'cmd.logs': true, 'logs.lines': true, 'logs.missed': true, 'logs.tailed': true,
  'cmd.inspect': true, 'worker.metrics-asked': true, 'worker.metrics': true, 'master.census': true, 'status.report': true,
  'worker.hung': true, 'worker.over-memory': true, 'worker.replacing': true,
  'cmd.history': true, 'cmd.rollback': true, 'cmd.upgrade': true, 'cmd.take-over': true, 'upgrade.ready': true,
  'upgrade.handed-over': true, 'upgrade.progress': true, 'upgrade.ended': true, 'history.list': true, 'rollback.refused': true, 'probation.ended': true,
};
const MESSAGE_TYPES: ReadonlySet<string> = new Set(Object.keys(KNOWN_TYPES));

// Secrets. A server's environment often holds production secrets, and only the master
// needs the values, to fork workers. Here, once, the catalogue names every field that
// carries environment values. A frame leaving a process has them masked (codec.ts), except
// on the links that lead toward the master: CLI → daemon, plugin host → daemon, daemon →
// master. So the trace, `trace --follow`, plugins and every other client see the names,
// each with a short keyed hash that shows a change but not the value.
type EnvMasker = (env: Record<string, string>) => Record<string, string>;
const ENVIRONMENT_FIELDS: { [T in MessageType]?: (msg: MessageOf<T>, mask: EnvMasker) => MessageOf<T> } = {
  'cmd.start': (msg, mask) => ({ ...msg, config: { ...msg.config, env: mask(msg.config.env) } }),
  'cmd.boot': (msg, mask) => ({ ...msg, config: { ...msg.config, env: mask(msg.config.env) } }),
  'cmd.take-over': (msg, mask) => ({ ...msg, config: { ...msg.config, env: mask(msg.config.env) }, release: { ...msg.release, env: mask(msg.release.env) } }),
  'cmd.deploy': (msg, mask) => (msg.env === null ? msg : { ...msg, env: mask(msg.env) }),
  'history.list': (msg, mask) => ({ ...msg, generations: msg.generations.map((generation) => ({ ...generation, env: mask(generation.env) })) }),
};

// Per process: a hash seen in one daemon's trace cannot be compared with a guess offline.
// node:crypto is loaded on the first mask: the CLI, which never masks, starts without it.
let hmac: ((name: string, value: string) => string) | null = null;
function keyedHash(name: string, value: string): string {
  if (!hmac) {
    const { createHmac, randomBytes } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    const maskKey = randomBytes(32);
    hmac = (n, v) => createHmac('sha256', maskKey).update(n).update('\0').update(v).digest('hex').slice(0, 8);
  }
  return hmac(name, value);
}
const maskEnv: EnvMasker = (env) => Object.fromEntries(Object.entries(env).map(([name, value]) => [name, `‹set:${keyedHash(name, String(value))}›`]));

/** The message as everyone but the master may see it: environment values masked. */
export function withoutSecrets<M extends Message>(msg: M): M {
  const mask = ENVIRONMENT_FIELDS[msg.type] as ((msg: M, mask: EnvMasker) => M) | undefined;
  return mask ? mask(msg, maskEnv) : msg;
}

export function isMessageType(value: unknown): value is MessageType {
  return typeof value === 'string' && MESSAGE_TYPES.has(value);
}

