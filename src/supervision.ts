// Constants the daemon and master processes agree on.
export const MASTER_BOOT_FAILED = 78;
/** How long a master whose daemon died gives its workers to exit before killing them. */
export const MASTER_ORPHAN_STOP_MS = 10_000;
/** A plugin host's exit status when its plugin cannot run as configured: not restarted. */
export const PLUGIN_CONFIG_FAILED = 78;
/** How long a stopping daemon waits for a plugin's stop() before its host is killed. */
export const PLUGIN_STOP_GRACE_MS = 2_000;
