// Entry point of the cluster master process: joins the daemon's bus over fd 3 and runs
// the master actor. Exit status 0: stopped as asked; MASTER_BOOT_FAILED: the first
// workers never came online; anything else is a crash the daemon recovers from.
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { WorkerStreamName } from '../bus/messages.js';
import { createBus } from '../bus/bus.js';
import { openParentPipe } from '../bus/fd3.js';
import { createLink } from '../bus/link.js';
import { createMasterActor } from '../actors/master.js';
import { createCensusActor } from '../actors/census.js';
import { createMemoryWatchActor } from '../actors/memory-watch.js';
import { MASTER_BOOT_FAILED, MASTER_HEARTBEAT, MASTER_ORPHAN_STOP_MS, userNodeArgs } from '../supervision/constants.js';
import type { ServerConfig } from '../bus/messages.js';
import { createWorkerOutput, type WorkerOutput } from '../logs/worker-output.js';
import { watchHandoffs } from '../cluster/handoffs.js';
import { EnvFileLayer, readEnvFile } from '../cluster/env-file.js';

const pipe = openParentPipe();
const bus = createBus('master');
const link = createLink(bus, pipe, {
  name: 'master', wants: ['cmd.boot', 'cmd.deploy', 'cmd.deploy-abort', 'cmd.stop', 'cmd.status', 'cmd.inspect'], stirEveryMs: MASTER_HEARTBEAT.intervalMs,
});
let exiting = false;

// The daemon owns the signals. A signal to the whole process group (a terminal's Ctrl+C,
// `timeout`, systemd's default KillMode) reaches us too: the daemon's orderly stop follows.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

let output: WorkerOutput | null = null;
/** The script naught was started with: a deploy runs it, a rollback its own release's. */
let startScript = '';
/** What the deploy under way changed, to undo if it fails. */
let before: { env: NodeJS.ProcessEnv; cwd: string; script: string | null; envFile: Map<string, string | undefined>; envFileVars: Record<string, string> } | null = null;
const envFile = new EnvFileLayer(process.env);
let envFilePath: string | null = null;
/** What the env file held when it was last read. */
let envFileVars: Record<string, string> = {};
let drainEnv: Record<string, string> = {};
/** Safe sends and the drain, loaded into every worker before the server (worker-preload.cts). */
/** Listening sockets systemd activated, passed on by the daemon (see its activatedSockets). */
const inheritedFds = (process.env.NAUGHT_INHERITED_FDS ?? '').split(',').filter(Boolean).map(Number);

/** naught/worker's heartbeat under `start --worker-timeout`. */
const HEARTBEAT_MS = 1_000;
const WORKER_PRELOAD = fileURLToPath(new URL('../worker-preload.cjs', import.meta.url));

const master = createMasterActor({
  bus,
  setup({ config, output: modes, startScript: started }) {
    startScript = started;
    process.chdir(config.cwd);
    Object.assign(process.env, config.env);
    envFilePath = config.envFile ?? null;
    layEnvFile();
    output = createWorkerOutput(modes, handOverToDaemon);
    drainEnv = preloadEnv(config);
    // --node-args reached us as our own execArgv, after our V8 flags; the preload goes after them.
    cluster.setupPrimary({
      exec: config.script, args: config.args, execArgv: [...userNodeArgs(process.execArgv), '--require', WORKER_PRELOAD],
      // Pipes for output, the IPC channel, then the sockets the daemon passed us (naught/worker's listen()).
      stdio: ['pipe', 'pipe', 'pipe', 'ipc', ...inheritedFds],
    });
  },
  configure({ env, cwd, script }) {
    before = { env: { ...process.env }, cwd: process.cwd(), script: cluster.settings.exec ?? null, envFile: envFile.save(), envFileVars };
    // The file's values go over the deploying shell's (--override-env): lifted, then laid again as the file is now.
    envFile.lift();
    if (env) Object.assign(process.env, env);
    layEnvFile();
    if (cwd && cwd !== process.cwd()) process.chdir(cwd);
    cluster.setupPrimary({ exec: script ?? startScript });
  },
  restore() {
    if (!before) return;
    for (const name of Object.keys(process.env)) if (!(name in before.env)) delete process.env[name];
    Object.assign(process.env, before.env);
    envFile.restore(before.envFile);
    envFileVars = before.envFileVars;
    if (before.cwd !== process.cwd()) process.chdir(before.cwd);
    if (before.script) cluster.setupPrimary({ exec: before.script });
    before = null;
  },
  fork(slot) {
    const worker = cluster.fork({ NAUGHT_WORKER: String(slot), ...drainEnv });
    // Serving traffic keeps the daemon's heartbeat at its busy interval (link.stir).
    watchHandoffs(worker, link.stir);
    output?.attach(worker);
    return worker;
  },
  exit(reason) {
    exiting = true;
    link.close();
    const code = reason === 'stopped' ? 0 : MASTER_BOOT_FAILED;
    pipe.end(() => process.exit(code));
    setTimeout(() => process.exit(code), 1000).unref();
  },
});

createCensusActor({ bus, pool: master.pool });
createMemoryWatchActor({ bus });

/**
 * Sends a worker's pipe to the daemon over the IPC channel it gave us for this alone.
 * Called in the tick of the fork, before the worker can have written anything: our end
 * stops reading first, since Node keeps reading a sent pipe (into nothing) until the
 * daemon acknowledges it, and holds a second one back until then.
 */
function handOverToDaemon(stream: WorkerStreamName, source: Readable, pid: number): void {
  (source as unknown as { _handle?: { readStop(): number } })._handle?.readStop();
  process.send?.({ output: stream, pid }, source as Socket, {}, () => {});
}

// Without a daemon nobody can stop us: stop the workers rather than orphan them.
void link.closed.then(() => {
  if (exiting) return;
  bus.publish({ type: 'cmd.stop', requestId: 'daemon-gone', timeoutMs: MASTER_ORPHAN_STOP_MS });
});

function preloadEnv(config: ServerConfig): Record<string, string> {
  const heartbeat: Record<string, string> = config.workerTimeoutMs === null ? {} : { NAUGHT_HEARTBEAT_MS: String(HEARTBEAT_MS) };
  // The sockets land in each worker from fd 4 on, after the IPC channel.
  const sockets: Record<string, string> = inheritedFds.length === 0 ? {} : {
    NAUGHT_LISTEN_FDS: inheritedFds.map((_, i) => String(4 + i)).join(','), NAUGHT_LISTEN_FDNAMES: process.env.NAUGHT_INHERITED_FDNAMES ?? '',
  };
  const ready: Record<string, string> = config.ready === undefined || config.ready === 'online' ? {} : { NAUGHT_READY: String(config.ready) };
  return { NAUGHT_DRAIN: config.drain, NAUGHT_DRAIN_RECENT_MS: String(config.drainRecentMs), ...ready, ...heartbeat, ...sockets };
}

/** Reads the env file afresh; one that cannot be read now leaves the workers the values they had. */
function layEnvFile(): void {
  if (envFilePath === null) return;
  try {
    envFileVars = readEnvFile(envFilePath);
  } catch (error) {
    bus.publish({ type: 'notice', code: 'ENV_FILE_UNREADABLE', message: `Cannot read --env-file ${envFilePath}: ${(error as Error).message}. The new workers get the values it had when last read.` });
  }
  envFile.lay(envFileVars);
}
