// The Prometheus exporter, `--plugin naught/plugins/prometheus='{"port":9464}'`: serves
// /metrics in the Prometheus text format through prom-client. Counters follow the bus as
// it goes (deploys, worker starts and exits, back-offs, master restarts); gauges are read
// at scrape time from one status report (cmd.inspect), so nothing is sampled between
// scrapes. Like every plugin it runs in its own process, restarted if it fails.
import http from 'node:http';
import promClient from 'prom-client';
import type { Envelope, StatusReport } from '../bus/messages.js';
import { statusReports } from '../bus/status-reports.js';
import { definePlugin, PluginConfigError } from '../plugin.js';
import { createDeployLifecycle } from './deploy-lifecycle.js';

export interface PrometheusOptions {
  port?: number;
  /** Defaults to 127.0.0.1; `0.0.0.0` to let a Prometheus on another host scrape. */
  host?: string;
}

type DeployOutcome = 'done' | 'failed' | 'aborted' | 'timed_out';

/**
 * Which deploys ended how: a finished deploy's outcome and duration, from the deploy
 * lifecycle every telling plugin shares (deploy-lifecycle.ts).
 */
export function createDeployTracker(): (envelope: Envelope) => { outcome: DeployOutcome; seconds: number } | null {
  const lifecycle = createDeployLifecycle();
  return (envelope) => {
    const step = lifecycle(envelope);
    if (step?.step !== 'ended') return null;
    const outcome: DeployOutcome = step.timedOut ? 'timed_out' : step.abortRequested ? 'aborted' : step.event === 'Ready' ? 'done' : 'failed';
    return { outcome, seconds: step.ms / 1000 };
  };
}

export default definePlugin<'cmd.inspect', PrometheusOptions | undefined>({
  name: 'prometheus',
  publishes: ['cmd.inspect'],
  async create({ bus, options, log }) {
    const port = options?.port ?? 9464;
    const host = options?.host ?? '127.0.0.1';
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PluginConfigError(`port must be an integer from 0 to 65535, not ${JSON.stringify(port)}`);
    const registry = new promClient.Registry();
    const metric = { registers: [registry] };
    const deploys = new promClient.Counter({ name: 'naught_deploys_total', help: 'Deploys by outcome.', labelNames: ['outcome'], ...metric });
    for (const outcome of ['done', 'failed', 'aborted', 'timed_out']) deploys.inc({ outcome }, 0);
    const deployDuration = new promClient.Histogram({
      name: 'naught_deploy_duration_seconds', help: 'From the deploy command to Ready, DeployFailed or Shutdown, whatever the outcome.',
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300], ...metric,
    });
    const starts = new promClient.Counter({ name: 'naught_worker_starts_total', help: 'Worker processes forked.', ...metric });
    const exits = new promClient.Counter({ name: 'naught_worker_exits_total', help: 'Worker exits: clean (code 0), code (another code), signal.', labelNames: ['reason'], ...metric });
    for (const reason of ['clean', 'code', 'signal']) exits.inc({ reason }, 0);
    const backoffs = new promClient.Counter({ name: 'naught_worker_backoffs_total', help: 'Restarts delayed because a worker crash-looped.', ...metric });
    const masterRestarts = new promClient.Counter({ name: 'naught_master_restarts_total', help: 'Cluster masters that died and were replaced.', ...metric });
    const logCounters = {
      linesWritten: new promClient.Counter({ name: 'naught_log_lines_written_total', help: 'Lines written, per log file.', labelNames: ['log'], ...metric }),
      bytesWritten: new promClient.Counter({ name: 'naught_log_bytes_written_total', help: 'Bytes written, per log file.', labelNames: ['log'], ...metric }),
      linesDropped: new promClient.Counter({ name: 'naught_log_lines_dropped_total', help: 'Lines dropped while a log file could not be written.', labelNames: ['log'], ...metric }),
    };
    const traceDropped = new promClient.Counter({ name: 'naught_trace_frames_dropped_total', help: 'Bus messages the trace could not record.', ...metric });
    const workers = new promClient.Gauge({ name: 'naught_workers', help: 'Workers by state.', labelNames: ['state'], ...metric });
    const workerRss = new promClient.Gauge({ name: 'naught_worker_rss_bytes', help: 'Resident memory per worker.', labelNames: ['slot'], ...metric });
    const workerCpu = new promClient.Gauge({ name: 'naught_worker_cpu_percent', help: 'CPU per worker over the last sample (100 = one core).', labelNames: ['slot'], ...metric });
    const workerLag = new promClient.Gauge({ name: 'naught_worker_event_loop_lag_p99_seconds', help: 'Event-loop delay p99 per worker (naught/worker only).', labelNames: ['slot'], ...metric });
    const processRss = new promClient.Gauge({ name: 'naught_process_rss_bytes', help: 'Resident memory of the daemon and the master.', labelNames: ['process'], ...metric });

    const track = createDeployTracker();
    bus.onAny((envelope) => {
      const ended = track(envelope);
      if (ended) {
        deploys.inc({ outcome: ended.outcome });
        deployDuration.observe(ended.seconds);
      }
      const { msg } = envelope;
      if (msg.type === 'worker.spawned') starts.inc();
      else if (msg.type === 'worker.exited') exits.inc({ reason: msg.signal !== null ? 'signal' : msg.code === 0 ? 'clean' : 'code' });
      else if (msg.type === 'notice' && msg.code === 'WORKER_BACKOFF') backoffs.inc();
      else if (msg.type === 'notice' && msg.code === 'MASTER_DIED') masterRestarts.inc();
    });

    const inspect = statusReports((handler) => bus.on('status.report', handler), () => bus.publish({ type: 'cmd.inspect' }));

    const setCumulative = (counter: promClient.Counter<string>, labels: Record<string, string>, value: number) => {
      counter.remove(labels);
      counter.inc(labels, value);
    };
    const refresh = (report: StatusReport) => {
      for (const gauge of [workers, workerRss, workerCpu, workerLag, processRss]) gauge.reset();
      for (const state of ['booting', 'online', 'dying', 'new_online'] as const) workers.set({ state }, report.pool?.counts[state] ?? 0);
      for (const worker of report.workers) {
        const slot = String(worker.slot);
        // During a deploy a slot has an old and a new worker: the gauge holds the newer.
        if (worker.rssBytes !== null) workerRss.set({ slot }, worker.rssBytes);
        if (worker.cpuPercent !== null) workerCpu.set({ slot }, worker.cpuPercent);
        if (worker.lagMs !== null) workerLag.set({ slot }, worker.lagMs.p99 / 1000);
      }
      processRss.set({ process: 'daemon' }, report.daemon.rssBytes);
      if (report.master?.rssBytes != null) processRss.set({ process: 'master' }, report.master.rssBytes);
      for (const entry of report.logs) {
        setCumulative(logCounters.linesWritten, { log: entry.name }, entry.linesWritten);
        setCumulative(logCounters.bytesWritten, { log: entry.name }, entry.bytesWritten);
        setCumulative(logCounters.linesDropped, { log: entry.name }, entry.linesDropped);
      }
      setCumulative(traceDropped, {}, report.trace?.framesDropped ?? 0);
    };

    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('naught serves /metrics only\n');
        return;
      }
      void inspect().then(async (report) => {
        if (report) refresh(report);
        res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      }).catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        reject(new Error(`cannot serve metrics on http://${host}:${port}/metrics: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message} (${error.code})`));
      });
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as { port: number };
    log(`serving metrics on http://${host}:${address.port}/metrics`);
    return { stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  },
});
