// naught 1.6's printed forms, as the CLI prints them; a pool event's line is the pool's.
import type { PluginInfo, PoolEvent } from '../bus/messages.js';
import { formatCounts, formatEvent } from '../pool/event-text.js';

export { formatCounts, formatEvent };

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
