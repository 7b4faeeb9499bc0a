// In the daemon: answers cmd.inspect with the whole state as one document (status.report),
// the daemon's own part joined to the master's census. A master that does not answer in
// time, or is not there, leaves its part null: the document still comes.
import type { Bus } from '../bus/bus.js';
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
}

export function createStatusReportActor({ bus, config, release, plugins, logs, trace, master }: StatusReportDeps): () => void {
  const startedAt = Date.now();
  const waiting = new Map<string, NodeJS.Timeout>();

  const report = (requestId: string, census: MessageOf<'master.census'> | null) => {
    const running = master();
    const document: StatusReport = {
      running: true,
      daemon: {
        pid: process.pid, version: VERSION, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), rssBytes: process.memoryUsage().rss,
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
      waiting.set(requestId, setTimeout(() => {
        waiting.delete(requestId);
        report(requestId, null);
      }, CENSUS_WAIT_MS));
    }),
    bus.on('master.census', (census) => {
      const timer = waiting.get(census.requestId);
      if (timer === undefined) return;
      clearTimeout(timer);
      waiting.delete(census.requestId);
      report(census.requestId, census);
    }),
  ];
  return () => {
    for (const off of offs) off();
    for (const timer of waiting.values()) clearTimeout(timer);
  };
}
