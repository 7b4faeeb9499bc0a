let requests = 0;
/** Unique among the daemon's requests: the pid and start time of this process, and a count (no node:crypto to load for it). */
export const newRequestId = (): string => `${process.pid}-${Math.round(performance.timeOrigin).toString(36)}-${++requests}`;
