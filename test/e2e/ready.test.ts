// `start --ready listening|<N>s`: servers that never speak naught's protocol, as PM2 apps
// are written, count as online once they listen (or have lived N seconds), and are shut
// down for them: their own SIGINT (or SIGTERM) handler runs, their servers drain, and they
// exit; deploys under load lose nothing.
import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { execFile } from 'node:child_process';
import { fixture, naughtBin } from '../helpers/paths.js';
import { startLoad } from '../helpers/load.js';
import { bootLines, deployLines, descendants, freePort, isAlive, lines, readText, Sandbox, stopLines } from '../helpers/naught.js';

const cert = fs.readFileSync(fixture('tls/cert.pem'));

/** One answer from a server of `kind`, as its own client would ask: the pid that answered. */
function ask(kind: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    if (kind === 'net') {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (d: Buffer) => { text += d; });
      socket.on('end', () => resolve(Number(text.trim())));
      socket.on('error', reject);
      return;
    }
    if (kind === 'http2') {
      const session = http2.connect(`https://127.0.0.1:${port}`, { ca: cert, servername: 'localhost', rejectUnauthorized: false });
      session.on('error', reject);
      const req = session.request({ ':path': '/' });
      let text = '';
      req.on('data', (d: Buffer) => { text += d; });
      req.on('end', () => { session.close(); resolve((JSON.parse(text) as { pid: number }).pid); });
      req.on('error', reject);
      return;
    }
    const get = kind === 'https' ? https.get : http.get;
    get({ host: '127.0.0.1', port, path: '/', agent: false, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d; });
      res.on('end', () => resolve((JSON.parse(text) as { pid: number }).pid));
    }).on('error', reject);
  });
}

for (const kind of ['http', 'https', 'http2', 'net']) {
  t.test(`--ready listening: a PM2-style ${kind} server is online once it listens, and its SIGINT handler runs at a deploy and a stop`, async (t) => {
    const box = new Sandbox(t);
    const port = await freePort();
    const start = await box.naught(['start', '--ready', 'listening', '--worker-count', '2', fixture('pm2-style.cjs'), kind], { PORT: String(port) });
    t.equal(start.code, 0, start.stderr);
    t.equal(start.stderr, lines(...bootLines(2)));
    const first = await ask(kind, port);
    t.ok(first > 0, `answered by ${first}`);
    const deploy = await box.naught(['deploy']);
    t.equal(deploy.code, 0, deploy.stderr);
    t.equal(deploy.stderr, lines(...deployLines(2), 'done'));
    t.notOk(isAlive(first), 'the old worker exited');
    t.match(readText(box.path('stderr.log')), `pid ${first} got SIGINT and closes\n`);
    t.notSame(await ask(kind, port), first, 'a new worker answers');
    const stop = await box.naught(['stop']);
    t.equal(stop.code, 0);
    t.equal((readText(box.path('stderr.log')).match(/got SIGINT and closes/g) ?? []).length, 4, 'every worker\'s handler ran once: 2 at the deploy, 2 at the stop');
  });
}

t.test('--ready listening: 3 deploys under keep-alive and new-connection load lose nothing', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--ready', 'listening', '--worker-count', '2', fixture('pm2-style.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const load = { concurrency: 6, maxRequests: 200_000, maxMs: 60_000 };
  const loads = [startLoad({ port, keepAlive: true, ...load }), startLoad({ port, keepAlive: false, ...load })];
  for (let i = 0; i < 3; i++) t.equal((await box.naught(['deploy'])).code, 0, `deploy ${i + 1}`);
  const [keepAlive, fresh] = await Promise.all(loads.map((l) => l.stop()));
  t.same([keepAlive!.failures, fresh!.failures], [[], []], `0 failed requests (${keepAlive!.ok} keep-alive, ${fresh!.ok} new-connection)`);
  t.ok(keepAlive!.ok > 100 && fresh!.ok > 100, 'load really ran');
  t.equal((readText(box.path('stderr.log')).match(/got SIGINT and closes/g) ?? []).length, 6, 'the handler ran in every old worker');
});

t.test('--ready listening without a handler: naught closes the server, and the worker exits though a timer would keep it', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--ready', 'listening', fixture('pm2-style.cjs'), 'http', 'keeps-running'], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const first = await ask('http', port);
  const deploy = await box.naught(['deploy', '--timeout', '20']);
  t.equal(deploy.code, 0, 'the old worker exited by itself, long before the timeout');
  t.match(readText(box.path('stderr.log')), `pid ${first} got SIGINT and closes\n`);

  const bare = new Sandbox(t);
  const barePort = await freePort();
  t.equal((await bare.naught(['start', '--ready', 'listening', fixture('pm2-style.cjs'), 'http', 'no-handler'], { PORT: String(barePort) })).code, 0);
  t.teardown(() => bare.naught(['stop', '--timeout', '1']));
  const before = await ask('http', barePort);
  t.equal((await bare.naught(['deploy', '--timeout', '20'])).code, 0);
  t.notOk(isAlive(before), 'closed and exited without a handler of its own');
});

/**
 * `naught args…` in the sandbox without the NODE_OPTIONS the test runner adds to every child:
 * its preload puts a SIGINT handler of its own into every worker, which would run instead of
 * the app's SIGTERM handler (as PM2's SIGINT would).
 */
function bareNaught(box: Sandbox, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile('env', ['-u', 'NODE_OPTIONS', process.execPath, naughtBin, ...args], { cwd: box.dir, timeout: 30_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr });
    });
  });
}

t.test('--ready 1s: a worker that never listens is online after a second, and its SIGTERM handler runs at the stop', async (t) => {
  const box = new Sandbox(t);
  const start = await bareNaught(box, ['start', '--ready', '1s', '--worker-count', '2', fixture('queue-consumer.cjs')]);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  t.equal(start.code, 0, start.stderr);
  t.equal(start.stderr, lines(...bootLines(2)));
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
  t.equal((await box.naught(['stop'])).code, 0);
  t.equal((readText(box.path('stdout.log')).match(/stops after its batch/g) ?? []).length, 2, readText(box.path('stdout.log')));
});

t.test('--ready 1s without a handler or a server: the worker exits at once at the stop, though its timer would keep it', async (t) => {
  const box = new Sandbox(t);
  t.equal((await bareNaught(box, ['start', '--ready', '1s', fixture('queue-consumer.cjs'), 'no-handler'])).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const worker = descendants(box.daemonPid()!).find((pid) => readText(`/proc/${pid}/cmdline`).includes('queue-consumer'))!;
  t.same(await box.naught(['stop', '--timeout', '20']), { code: 0, stdout: '', stderr: lines(...stopLines(1)) }, 'exited by itself: no Timeout and no DestroyOld');
  t.notOk(isAlive(worker));
});

t.test('--ready takes online, listening or seconds with an s; anything else is refused with the range', async (t) => {
  const box = new Sandbox(t);
  for (const value of ['5', 'ready', '0s', '-1s', '1.5ms']) {
    const run = await box.naught(['start', '--ready', value, fixture('hello-server.cjs')]);
    t.equal(run.code, 1, value);
    t.match(run.stderr, `naught start: --ready "${value}" is not accepted: online, listening, or seconds with an s, from 0.001s to`);
  }
});
