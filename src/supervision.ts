// Constants the daemon and master processes agree on.
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
