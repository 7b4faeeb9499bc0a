// Constants the daemon and master processes agree on.
export const MASTER_BOOT_FAILED = 78;
/** How long a master whose daemon died gives its workers to exit before killing them. */
export const MASTER_ORPHAN_STOP_MS = 10_000;
