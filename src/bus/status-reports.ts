// Asking for the whole state (cmd.inspect) and waiting for its status.report, for those
// that need it on demand: the health endpoint in the daemon, the Prometheus plugin in its
// host. A report that does not come within REPORT_WAIT_MS is null.
import type { MessageOf, StatusReport } from './messages.js';

export const REPORT_WAIT_MS = 4_000;

/**
 * `listen` subscribes to status.report on the asker's bus; `ask` publishes one cmd.inspect
 * and returns its request id. Returns the function that asks and waits.
 */
export function statusReports(
  listen: (handler: (msg: MessageOf<'status.report'>) => void) => unknown,
  ask: () => string,
): () => Promise<StatusReport | null> {
  const waiting = new Map<string, (report: StatusReport | null) => void>();
  listen(({ requestId, report }) => waiting.get(requestId)?.(report));
  return () => new Promise((resolve) => {
    const requestId = ask();
    const timer = setTimeout(() => settle(null), REPORT_WAIT_MS);
    const settle = (report: StatusReport | null) => {
      clearTimeout(timer);
      waiting.delete(requestId);
      resolve(report);
    };
    waiting.set(requestId, settle);
  });
}
