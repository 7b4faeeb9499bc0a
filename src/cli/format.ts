// naught 1.6's printed forms, shared by the CLI and naught.log.
import type { PluginInfo, PoolEvent } from '../bus/messages.js';

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

/** Lines `status` adds after naught's when plugins run: `plugin NAME (MODULE): STATE, pid N, restarts N`. */
export function formatPlugins(plugins: PluginInfo[]): string {
  return plugins.map(({ module, name, state, pid, restarts }) =>
    `plugin ${name ?? module}${name !== null && name !== module ? ` (${module})` : ''}: ${state}${pid === null ? '' : `, pid ${pid}`}, restarts ${restarts}\n`).join('');
}
