// In the daemon: answers cmd.inspect with the whole state as one document (status.report),
// the daemon's own part joined to the master's census. A master that does not answer in
// time, or is not there, leaves its part null: the document still comes.
import type { Bus } from '../bus/bus.js';
import { systemClock, type Clock } from '../bus/clock.js';
import { packageVersion } from '../version.js';
import type { DaemonConfig, LogReport, MessageOf, PluginInfo, ServerConfig, StatusReport, TraceReport } from '../bus/messages.js';

const CENSUS_WAIT_MS = 3_000;
const VERSION = packageVersion();

export interface StatusReportDeps {
  bus: Bus;
  config: DaemonConfig;
  /** The release the workers run now. */
  release: () => ServerConfig;
  plugins: () => PluginInfo[];
  logs: () => LogReport[];
  trace: () => TraceReport | null;
  /** The master running now and how many were started after the first; null between masters. */
  master: () => { pid: number; restarts: number } | null;
  clock?: Clock;
}

export function createStatusReportActor({ bus, config, release, plugins, logs, trace, master, clock = systemClock }: StatusReportDeps): () => void {
  const startedAt = clock.now();
  /** Reports waiting for the master's census, each with its timer's cancel. */
  const waiting = new Map<string, () => void>();

  const report = (requestId: string, census: MessageOf<'master.census'> | null) => {
    const running = master();
    const document: StatusReport = {
      running: true,
      daemon: {
        pid: process.pid, version: VERSION, uptimeSeconds: Math.round((clock.now() - startedAt) / 1000), rssBytes: process.memoryUsage().rss,
        ipcFile: config.ipcFile, pidFile: config.pidFile, paths: { log: config.log, stdout: config.stdout, stderr: config.stderr },
        drain: { mode: release().drain, recentMs: release().drainRecentMs },
      },
      master: running ? { pid: running.pid, rssBytes: census?.master.rssBytes ?? null, restarts: running.restarts } : null,
      pool: census?.pool ?? null,
      workers: census?.workers ?? [],
      plugins: plugins(),
      logs: logs(),
      trace: trace(),
    };
    bus.publish({ type: 'status.report', requestId, report: document });
  };

  const offs = [
    bus.on('cmd.inspect', ({ requestId }) => {
      if (master() === null) return report(requestId, null);
      waiting.set(requestId, clock.after(CENSUS_WAIT_MS, () => {
        waiting.delete(requestId);
        report(requestId, null);
      }));
    }),
    bus.on('master.census', (census) => {
      const cancel = waiting.get(census.requestId);
      if (cancel === undefined) return;
      cancel();
      waiting.delete(census.requestId);
      report(census.requestId, census);
    }),
  ];
  return () => {
    for (const off of offs) off();
    for (const cancel of waiting.values()) cancel();
  };
}
