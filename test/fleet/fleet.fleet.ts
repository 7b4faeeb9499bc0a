// `npm run test:fleet`: three naught "hosts" on this machine (each its own folder,
// ipc-file, ports and releases) behind HAProxy, rolled by examples/fleet/playbook.yml
// (Ansible, connection: local, serial: 1) under load through HAProxy. Named .fleet.ts so
// that `npm test` leaves it out: it needs haproxy and ansible (scripts/test-fleet.mjs).
import t from 'tap';
import fs from 'node:fs';
import { execFile, spawn } from 'node:child_process';
import { naughtBin, repoRoot } from '../helpers/paths.js';
import { freePort, Sandbox, waitFor } from '../helpers/naught.js';
import { startLoad } from '../helpers/load.js';

const RELEASE = (name: string, crashes = false) => `const http = require('http');
${crashes ? "console.error('release " + name + " cannot start'); process.exit(1);" : ''}
const server = http.createServer((req, res) => res.end(JSON.stringify({ release: ${JSON.stringify(name)}, host: process.env.HOST_NAME })));
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send('online'));
process.on('message', (message) => { if (message === 'shutdown') server.close(() => process.exit(0)); });
`;

interface Host { name: string; dir: string; appPort: number; healthPort: number }
const answer = async (port: number) => (await fetch(`http://127.0.0.1:${port}/`)).json() as Promise<{ release: string; host: string }>;

function playbook(box: Sandbox, stamp: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile('ansible-playbook', ['-i', box.path('inventory.yml'), `${repoRoot}/examples/fleet/playbook.yml`, '-e', `release_src=${box.path('src', stamp)}`, '-e', `stamp=${stamp}`], {
      cwd: box.dir, timeout: 300_000,
      env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_LOCALHOST_WARNING: 'False', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'False' },
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, output: stdout + stderr }));
  });
}

t.test('a fleet of 3 behind HAProxy: a good release rolls with 0 failed requests; a bad one stops at the first host, which stays on the old release', async (t) => {
  const box = new Sandbox(t);
  const hosts: Host[] = [];
  for (const name of ['h1', 'h2', 'h3']) hosts.push({ name, dir: box.path(name), appPort: await freePort(), healthPort: await freePort() });
  for (const [stamp, crashes] of [['v1', false], ['v2', false], ['v3', true]] as const) {
    fs.mkdirSync(box.path('src', stamp), { recursive: true });
    fs.writeFileSync(box.path('src', stamp, 'server.cjs'), RELEASE(stamp, crashes));
  }
  for (const host of hosts) {
    fs.mkdirSync(`${host.dir}/releases`, { recursive: true });
    fs.cpSync(box.path('src', 'v1'), `${host.dir}/releases/v1`, { recursive: true });
    fs.symlinkSync('releases/v1', `${host.dir}/current`);
    const start = await box.naught(['start', '--worker-count', '2', '--ipc-file', `${host.dir}/naught.ipc`, '--pid-file', `${host.dir}/naught.pid`,
      '--log', `${host.dir}/naught.log`, '--stdout', `${host.dir}/stdout.log`, '--stderr', `${host.dir}/stderr.log`,
      '--health', `127.0.0.1:${host.healthPort}`, '--cwd', `${host.dir}/current`, `${host.dir}/current/server.cjs`], { PORT: String(host.appPort), HOST_NAME: host.name });
    t.equal(start.code, 0, `${host.name} started`);
    box.track(Number(fs.readFileSync(`${host.dir}/naught.pid`, 'utf8')));
  }
  t.teardown(() => Promise.all(hosts.map((host) => box.naught(['stop', '--timeout', '1', `${host.dir}/naught.ipc`]))));
  fs.writeFileSync(box.path('inventory.yml'), `fleet:\n  hosts:\n${hosts.map((host) =>
    `    ${host.name}: { host_dir: "${host.dir}", health_port: ${host.healthPort}, naught: "${process.execPath} ${naughtBin}" }\n`).join('')}`);

  const lbPort = await freePort();
  const config = fs.readFileSync(`${repoRoot}/examples/fleet/haproxy.cfg`, 'utf8').replace('LB_PORT', String(lbPort))
    .replace('SERVERS', hosts.map((host) => `    server ${host.name} 127.0.0.1:${host.appPort} check port ${host.healthPort}`).join('\n'));
  fs.writeFileSync(box.path('haproxy.cfg'), config);
  const haproxy = spawn('haproxy', ['-f', box.path('haproxy.cfg'), '-db'], { cwd: box.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  box.track(haproxy.pid!);
  let haproxyLog = '';
  haproxy.stderr.on('data', (d: Buffer) => { haproxyLog += d; });
  await waitFor('HAProxy to send to every host', async () => {
    try {
      const seen = new Set((await Promise.all(Array.from({ length: 9 }, () => answer(lbPort)))).map((reply) => reply.host));
      return seen.size === 3;
    } catch {
      return false;
    }
  }, 20_000);

  const load = startLoad({ port: lbPort, keepAlive: true, concurrency: 6, maxRequests: 1e9, maxMs: 600_000 });
  const good = await playbook(box, 'v2');
  if (good.code !== 0) t.comment(good.output.slice(-3000));
  t.equal(good.code, 0, 'the roll of a good release succeeds');
  for (const host of hosts) {
    const replies = await Promise.all(Array.from({ length: 4 }, () => answer(host.appPort)));
    t.ok(replies.every((reply) => reply.release === 'v2'), `${host.name} runs v2`);
  }
  const afterGood = await load.stop();
  t.same(afterGood.failures, [], `good release: 0 failed of ${afterGood.ok} requests through HAProxy`);

  const load2 = startLoad({ port: lbPort, keepAlive: true, concurrency: 6, maxRequests: 1e9, maxMs: 600_000 });
  const bad = await playbook(box, 'v3');
  t.not(bad.code, 0, 'the roll of a bad release fails');
  t.match(bad.output, /h1: release v3 failed; the host runs releases\/v2, and the hosts after it were not touched/);
  t.ok(fs.existsSync(`${hosts[0]!.dir}/releases/v3`), 'the first host got the release');
  t.notOk(fs.existsSync(`${hosts[1]!.dir}/releases/v3`) || fs.existsSync(`${hosts[2]!.dir}/releases/v3`), 'the others were never touched');
  t.equal(fs.readlinkSync(`${hosts[0]!.dir}/current`), 'releases/v2', "the first host's current points back");
  for (const host of hosts) {
    const replies = await Promise.all(Array.from({ length: 4 }, () => answer(host.appPort)));
    t.ok(replies.every((reply) => reply.release === 'v2'), `${host.name} still runs v2`);
  }
  const afterBad = await load2.stop();
  t.same(afterBad.failures, [], `bad release: 0 failed of ${afterBad.ok} requests through HAProxy`);
  t.notMatch(haproxyLog, /ALERT/, 'HAProxy raised no alert');
});
