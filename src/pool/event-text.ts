// naught 1.6's line for a pool event, as naught.log, systemd's STATUS and every client print it.
import type { PoolEvent } from '../bus/messages.js';

export const formatCounts = ({ count }: Pick<PoolEvent, 'count'>): string =>
  `booting: ${count.booting}, online: ${count.online}, dying: ${count.dying}, new_online: ${count.new_online}`;

export const formatEvent = (event: PoolEvent): string => `${event.event}. ${formatCounts(event)}`;
