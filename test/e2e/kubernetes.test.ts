// examples/kubernetes: the manifest against the Kubernetes schemas (kubernetes-models),
// `--worker-count auto` under a cgroup CPU quota, and the ConfigMap-driven deploy plugin
// against a folder updated the way the kubelet updates a ConfigMap volume.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import { parseAllDocuments } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { repoRoot } from '../helpers/paths.js';
import { freePort, readText, Sandbox, waitFor } from '../helpers/naught.js';

t.test('the manifest is valid Kubernetes, and its probes, grace and command fit naught', async (t) => {
  const documents = parseAllDocuments(fs.readFileSync(`${repoRoot}/examples/kubernetes/deployment.yaml`, 'utf8')).map((d) => d.toJS() as { kind: string });
  t.same(documents.map((d) => d.kind), ['ConfigMap', 'Deployment']);
  const configMap = new ConfigMap(documents[0] as ConstructorParameters<typeof ConfigMap>[0]);
  const deployment = new Deployment(documents[1] as ConstructorParameters<typeof Deployment>[0]);
  t.doesNotThrow(() => configMap.validate(), 'the ConfigMap');
  t.doesNotThrow(() => deployment.validate(), 'the Deployment');
  const broken = new Deployment({ ...(documents[1] as object), spec: { ...deployment.spec!, replicas: 'three' as unknown as number } });
  t.throws(() => broken.validate(), 'and the validation can fail');

  const pod = deployment.spec!.template.spec!;
  const container = pod.containers[0]!;
  const args = container.command!;
  t.same(args.slice(0, 5), ['node', 'dist/src/bin/naught.js', 'start', '--daemon-mode', 'false']);
  t.equal(args[args.indexOf('--worker-count') + 1], 'auto');
  const health = args[args.indexOf('--health') + 1]!;
  const healthPort = container.ports!.find((p) => p.name === 'health')!.containerPort;
  t.equal(health, `0.0.0.0:${healthPort}`, 'the probes reach the --health port');
  t.same([container.readinessProbe!.httpGet!.path, container.readinessProbe!.httpGet!.port], ['/readyz', 'health']);
  t.same([container.livenessProbe!.httpGet!.path, container.livenessProbe!.httpGet!.port], ['/livez', 'health']);
  const preStop = Number(container.lifecycle!.preStop!.exec!.command![1]);
  const drain = Number(/timeoutMs: (\d+)_?(\d*)/.exec(fs.readFileSync(`${repoRoot}/examples/container/server.mjs`, 'utf8'))!.slice(1).join('')) / 1000;
  t.ok(pod.terminationGracePeriodSeconds! >= preStop + drain, `the grace (${pod.terminationGracePeriodSeconds} s) covers preStop (${preStop} s) and the drain (${drain} s)`);
  t.ok(container.resources!.limits!.cpu, 'a CPU limit, which auto honours');
  t.match(fs.readFileSync(`${repoRoot}/examples/container/Dockerfile`, 'utf8'), 'COPY examples/kubernetes/deploy-on-config.mjs ./deploy-on-config.mjs', 'the plugin is in the image');
});

t.test('--worker-count auto honours a cgroup CPU quota (Node 20 does not)', async (t) => {
  const box = new Sandbox(t);
  const cgroup = box.path('cgroup');
  fs.mkdirSync(cgroup);
  const workersWith = async (cpuMax: string | null) => {
    if (cpuMax === null) fs.rmSync(`${cgroup}/cpu.max`, { force: true });
    else fs.writeFileSync(`${cgroup}/cpu.max`, `${cpuMax}\n`);
    const port = await freePort();
    const start = await box.naught(['start', '--worker-count', 'auto', `${repoRoot}/test/fixtures/hello-server.cjs`], { PORT: String(port), NAUGHT_CGROUP_ROOT: cgroup });
    const online = Number(/workers online: (\d+)/.exec(start.stdout)?.[1]);
    t.equal((await box.naught(['stop'])).code, 0);
    return online;
  };
  t.equal(await workersWith('50000 100000'), 1, 'half a CPU: one worker');
  t.equal(await workersWith('max 100000'), os.availableParallelism(), 'no quota: every CPU');
  t.equal(await workersWith('1000000 100000'), os.availableParallelism(), 'a quota above the CPUs there are: every CPU');
  t.equal(await workersWith(null), os.availableParallelism(), 'no cgroup file: every CPU');
});

t.test('the ConfigMap plugin deploys when the kubelet swaps the volume, and the new workers read the new config', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const config = box.path('etc-app');
  // The kubelet's layout: a timestamped folder, `..data` pointing at it, files through it.
  const publish = (stamp: string, greeting: string) => {
    fs.mkdirSync(`${config}/..${stamp}`, { recursive: true });
    fs.writeFileSync(`${config}/..${stamp}/config.json`, JSON.stringify({ greeting }));
    fs.symlinkSync(`..${stamp}`, `${config}/..data_tmp`);
    fs.renameSync(`${config}/..data_tmp`, `${config}/..data`);
  };
  publish('2026_12_01_00_00_00.1', 'hello');
  fs.symlinkSync('..data/config.json', `${config}/config.json`);
  fs.writeFileSync(box.path('server.cjs'), `const http = require('http');
const { greeting } = JSON.parse(require('fs').readFileSync(${JSON.stringify(`${config}/config.json`)}, 'utf8'));
const server = http.createServer((req, res) => res.end(greeting)).listen(Number(process.env.PORT), '127.0.0.1', () => process.send('online'));
process.on('message', (m) => { if (m === 'shutdown') server.close(() => process.exit(0)); });
`);
  const plugin = `${repoRoot}/examples/kubernetes/deploy-on-config.mjs=${JSON.stringify({ dir: config, everyMs: 100 })}`;
  t.equal((await box.naught(['start', '--worker-count', '2', '--plugin', plugin, 'server.cjs'], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), 'hello');
  await waitFor('the plugin', async () => (await box.naught(['status'])).stdout.includes('plugin deploy-on-config'));
  publish('2026_12_01_00_05_00.2', 'bonjour');
  await waitFor('the deploy', () => /^Ready\. booting: 0, online: 2, dying: 0, new_online: 0$/m.test(readText(box.path('naught.log')).split('deploying')[1] ?? ''));
  t.match(readText(box.path('naught.log')), /\[deploy-on-config\] .*etc-app changed \(\.\.2026_12_01_00_00_00\.1 → \.\.2026_12_01_00_05_00\.2\): deploying/);
  const replies = await Promise.all(Array.from({ length: 6 }, async () => (await fetch(`http://127.0.0.1:${port}/`)).text()));
  t.same([...new Set(replies)], ['bonjour'], 'every worker has the new config, in the same pods');
});
