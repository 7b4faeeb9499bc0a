// Tables for people: `naught status --workers` (`naught ps`), one row per worker, and
// `naught history`, one row per generation.
import type { Generation, StatusReport, WorkerReport } from '../bus/messages.js';

const HEADERS = ['slot', 'pid', 'state', 'uptime', 'restarts', 'memory', 'cpu', 'lag p99'] as const;
const STATE_COLOURS: Record<WorkerReport['state'], number> = { online: 32, new_online: 32, booting: 33, waiting: 33, dying: 31, destroyed: 31 };

export function formatUptime(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d ${Math.floor((seconds % 86_400) / 3600)}h`;
}

export const formatBytes = (bytes: number | null): string => (bytes === null ? '-' : `${(bytes / 2 ** 20).toFixed(1)} MiB`);

export function formatWorkersTable(report: StatusReport, colour: boolean): string {
  const rows = report.workers.map((worker) => [
    String(worker.slot), worker.pid > 0 ? String(worker.pid) : '-', worker.state, formatUptime(worker.uptimeSeconds), String(worker.restarts),
    formatBytes(worker.rssBytes), worker.cpuPercent === null ? '-' : `${worker.cpuPercent.toFixed(1)} %`,
    worker.lagMs === null ? '-' : `${worker.lagMs.p99.toFixed(1)} ms`,
  ]);
  if (!colour) return columns([[...HEADERS], ...rows]);
  // The state in its colour, once padded: escape codes take no room on the screen.
  const [header, ...lines] = columns([[...HEADERS], ...rows], (cell, row, column) =>
    (column === 2 && row > 0 ? `\x1b[${STATE_COLOURS[report.workers[row - 1]!.state]}m${cell}\x1b[0m` : cell)).split('\n');
  return [`\x1b[1m${header}\x1b[0m`, ...lines].join('\n');
}

/** Columns padded to their widest cell (the last one is not), each padded cell through `paint`. */
function columns(rows: string[][], paint = (cell: string, _row: number, _column: number) => cell): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row, r) => row.map((cell, column) => paint(column === row.length - 1 ? cell : cell.padEnd(widths[column]!), r, column))
    .join('  ').trimEnd() + '\n').join('');
}

export function formatHistory(generations: readonly Generation[], current: number | null): string {
  if (generations.length === 0) return 'no generation yet: the first boot has not reached Ready\n';
  return columns([
    ['', 'gen', 'ready at (UTC)', 'workers', 'script', 'env changed'],
    ...generations.map((g) => [
      g.generation === current ? '*' : '', String(g.generation), g.at.replace('T', ' ').replace(/\.\d+Z$/, ''), String(g.workerCount), g.script, g.envChanged.join(' '),
    ]),
  ]);
}
