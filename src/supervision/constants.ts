// Constants the daemon and master processes agree on.

/**
 * V8 flags for naught's own long-lived processes, the daemon and the master. V8's memory
 * reducer wakes an idle process every 8 s for a few ms, for as long as it judges the heap
 * not yet idle, which in a process that worked and now waits can last minutes: under the
 * idle test, 10-40 ms of CPU per 20 s on Node 22 and 24 (a bare Node 20 process that
 * allocated and then waits shows it too). Their heaps are a few MiB, which the ordinary
 * collections keep so. A foreground daemon (`--daemon-mode false`) is the process its
 * service manager started, so it runs with whatever flags that gave node.
 */
export const SUPERVISOR_V8_FLAGS: readonly string[] = ['--no-memory-reducer'];

/** The master's own execArgv less SUPERVISOR_V8_FLAGS: what the workers get (the user's --node-args). */
export function userNodeArgs(execArgv: readonly string[]): string[] {
  const ours = SUPERVISOR_V8_FLAGS.every((flag, i) => execArgv[i] === flag);
  return execArgv.slice(ours ? SUPERVISOR_V8_FLAGS.length : 0);
}
export const MASTER_BOOT_FAILED = 78;
/** How long a master whose daemon died gives its workers to exit before killing them. */
export const MASTER_ORPHAN_STOP_MS = 10_000;
/** A plugin host's exit status when its plugin cannot run as configured: not restarted. */
export const PLUGIN_CONFIG_FAILED = 78;
/** How long a stopping daemon waits for a plugin's stop() before its host is killed. */
export const PLUGIN_STOP_GRACE_MS = 2_000;
/** How long a status report waits for a worker's metrics (census.ts); a later answer is late (worker.ts). */
export const METRICS_ANSWER_WAIT_MS = 250;
/**
 * A master whose loop is stuck (SIGSTOP, an endless loop) is replaced: the daemon pings it
 * when it has not heard from it for intervalMs while either of them works (commands,
 * deploys, the master handing off connections, which it tells at most every intervalMs),
 * for idleIntervalMs after twice timeoutMs with none, and gives up on a ping unanswered
 * for timeoutMs.
 */
export const MASTER_HEARTBEAT = { intervalMs: 2_500, timeoutMs: 5_000, idleIntervalMs: 30_000 };
/** A plugin host's loop is watched as the master's is. */
export const PLUGIN_HEARTBEAT = { intervalMs: 2_500, timeoutMs: 5_000, idleIntervalMs: 30_000 };
