// naught/plugins/prometheus, scraped over real HTTP and parsed with a Prometheus
// text-format parser: the values match what the test did.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { fixture } from '../helpers/paths.js';
import { freePort, readText, Sandbox, waitFor } from '../helpers/naught.js';

interface Family { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string; count?: string; buckets?: Record<string, string> }[] }

async function scrape(port: number): Promise<Map<string, Family>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return new Map((parsePrometheusTextFormat(await res.text()) as Family[]).map((family) => [family.name, family]));
}

/** The value of one series: the family's metric whose labels include `labels`. */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  const metric = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!metric) throw new Error(`no ${name}${JSON.stringify(labels)}`);
  return Number(metric.value ?? metric.count);
}

t.test('the counters, gauges and histogram say what happened: 3 deploys, a kill -9, lines written', async (t) => {
  const box = new Sandbox(t);
  const [port, metricsPort] = [await freePort(), await freePort()];
  const plugin = `naught/plugins/prometheus={"port":${metricsPort}}`;
  const start = await box.naught(['start', '--worker-count', '2', '--plugin', plugin, fixture('says-on-request.cjs')], { PORT: String(port) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('the exporter', () => readText(box.path('naught.log')).includes(`[prometheus] serving metrics on http://127.0.0.1:${metricsPort}/metrics`));

  for (let i = 0; i < 3; i++) t.equal((await box.naught(['deploy'], { PORT: String(port) })).code, 0, `deploy ${i + 1}`);
  for (let i = 1; i <= 4; i++) await fetch(`http://127.0.0.1:${port}/stdout/line${i}`);
  const before = await scrape(metricsPort);
  t.equal(value(before, 'naught_deploys_total', { outcome: 'done' }), 3, '3 deploys done');
  t.equal(value(before, 'naught_deploys_total', { outcome: 'failed' }), 0);
  t.equal(value(before, 'naught_deploy_duration_seconds'), 3, 'the histogram has the 3');
  const durations = before.get('naught_deploy_duration_seconds')!.metrics[0]!;
  t.equal(Number(durations.buckets!['+Inf']), 3);
  t.ok(Number(durations.buckets!['60']) === 3, 'each under a minute');
  t.equal(before.get('naught_deploy_duration_seconds')!.type, 'HISTOGRAM');
  t.equal(value(before, 'naught_worker_starts_total'), 8, '2 booted, 2 per deploy');
  t.equal(value(before, 'naught_worker_exits_total', { reason: 'clean' }), 6, 'the replaced workers exited cleanly');
  t.equal(value(before, 'naught_worker_exits_total', { reason: 'signal' }), 0);
  t.equal(value(before, 'naught_workers', { state: 'online' }), 2);
  t.equal(value(before, 'naught_log_lines_written_total', { log: 'stdout' }), 4, 'the lines the workers wrote');
  t.equal(value(before, 'naught_log_bytes_written_total', { log: 'stdout' }), fs.statSync(box.path('stdout.log')).size);
  t.ok(value(before, 'naught_worker_rss_bytes', { slot: '0' }) > 10 * 2 ** 20, 'a worker RSS');
  t.ok(value(before, 'naught_process_rss_bytes', { process: 'master' }) > 10 * 2 ** 20, 'the master RSS');
  t.ok(value(before, 'naught_worker_cpu_percent', { slot: '1' }) >= 0);
  t.equal(value(before, 'naught_master_restarts_total'), 0);
  t.equal(value(before, 'naught_trace_frames_dropped_total'), 0);

  const status = JSON.parse((await box.naught(['status', '--json'])).stdout) as { workers: { pid: number }[] };
  process.kill(status.workers[0]!.pid, 'SIGKILL');
  const after = await waitFor('the kill counted', async () => {
    const next = await scrape(metricsPort);
    return value(next, 'naught_worker_exits_total', { reason: 'signal' }) === 1 && value(next, 'naught_workers', { state: 'online' }) === 2 ? next : null;
  });
  t.equal(value(after, 'naught_worker_starts_total'), 9, 'and its replacement');
  t.equal(value(after, 'naught_deploys_total', { outcome: 'done' }), 3);
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status, 404);
});

t.test('a port in use is a clear error in naught.log; the plugin is retried and the workers serve on', async (t) => {
  const box = new Sandbox(t);
  const [port, metricsPort] = [await freePort(), await freePort()];
  const squatter = net.createServer().listen(metricsPort, '127.0.0.1');
  t.teardown(() => squatter.close());
  await new Promise((resolve) => squatter.once('listening', resolve));
  const start = await box.naught(['start', '--plugin', `naught/plugins/prometheus={"port":${metricsPort}}`, fixture('hello-server.cjs')], { PORT: String(port) });
  t.equal(start.code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('the error', () => readText(box.path('naught.log')).includes(
    `The plugin prometheus failed to start: Error: cannot serve metrics on http://127.0.0.1:${metricsPort}/metrics: the port is in use (EADDRINUSE)`));
  t.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200, 'the workers serve');
  squatter.close();
  await waitFor('the retry that gets the port', async () => {
    try {
      return value(await scrape(metricsPort), 'naught_workers', { state: 'online' }) === 1;
    } catch {
      return false;
    }
  }, 30_000);
});

t.test('bad options: the plugin says why and is not restarted; naught serves on', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const run = await box.naught(['start', '--plugin', 'naught/plugins/prometheus={"port":"high"}', fixture('hello-server.cjs')], { PORT: String(port) });
  t.equal(run.code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('the reason', () => readText(box.path('naught.log')).includes('The plugin prometheus cannot run as configured: port must be an integer from 0 to 65535, not "high"'));
  await waitFor('the plugin given up', async () => (await box.naught(['status'])).stdout.includes('plugin naught/plugins/prometheus: failed, restarts 0'));
  t.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);
});
