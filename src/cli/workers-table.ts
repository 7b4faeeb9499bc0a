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
  const widths = HEADERS.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[], worker?: WorkerReport) => cells.map((cell, column) => {
    const padded = column === cells.length - 1 ? cell : cell.padEnd(widths[column]!);
    return colour && worker && column === 2 ? `\x1b[${STATE_COLOURS[worker.state]}m${padded}\x1b[0m` : padded;
  }).join('  ').trimEnd() + '\n';
  const header = colour ? `\x1b[1m${line(HEADERS).trimEnd()}\x1b[0m\n` : line(HEADERS);
  return header + rows.map((row, i) => line(row, report.workers[i])).join('');
}

/** Columns padded to their widest cell; the last one is not padded. */
function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd() + '\n').join('');
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
