// naught 1.6's printed forms, shared by the CLI and naught.log.
import type { PoolEvent } from '../bus/messages.js';

export const formatCounts = ({ count }: Pick<PoolEvent, 'count'>): string =>
  `booting: ${count.booting}, online: ${count.online}, dying: ${count.dying}, new_online: ${count.new_online}`;

export const formatEvent = (event: PoolEvent): string => `${event.event}. ${formatCounts(event)}`;

/** What `status` (and `start` on a running daemon) prints on stdout. */
export function formatStatus(event: PoolEvent): string {
  if (event.count.booting > 0) return `booting\n${formatCounts(event)}\n`;
  if (event.waitingFor === 'shutdown') return `shutting down\n${formatCounts(event)}\n`;
  if (event.waitingFor !== null) return `deploy in progress\n${formatCounts(event)}\n`;
  return `workers online: ${event.count.online}\n`;
}
