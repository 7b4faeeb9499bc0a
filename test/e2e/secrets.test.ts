import t from 'tap';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { fixture, repoRoot } from '../helpers/paths.js';
import { bootLines, freePort, get, lines, readText, Sandbox, waitFor } from '../helpers/naught.js';

const MASKED = /^‹set:[0-9a-f]{8}›$/;

t.test('a deploy environment reaches the workers and nothing else: trace, archives, followers, plugins, logs, clients', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const secret = `hunter3-${process.pid}-${Date.now()}`;
  const startSecret = `s3cr3t-start-${process.pid}`;
  const recorder = `${repoRoot}/examples/plugins/events-to-file.mjs={"file":"events.jsonl"}`;
  const start = await box.naught([
    'start', '--worker-count', '2', '--trace', 'trace.bin', '--max-log-size', '4000', '--plugin', recorder, fixture('hello-server.cjs'),
  ], { PORT: String(port), START_TOKEN: startSecret });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const follower = box.spawn(['trace', '--follow', '--json']);
  await waitFor('the follower and the plugin to hear a status', async () => {
    await box.naught(['status']);
    return follower.output().stdout.includes('cmd.status') && readText(box.path('events.jsonl')).includes('cmd.status');
  });

  const clients = [start];
  for (let i = 0; i < 3; i++) {
    const deploy = await box.naught(['deploy'], { GREETING: secret, SECRET_TOKEN: secret });
    t.equal(deploy.code, 0, deploy.stderr);
    clients.push(deploy);
  }
  t.equal((await get(port)).greeting, secret, 'the workers got the value');
  clients.push(await box.naught(['status']));
  const stop = await box.naught(['stop']);
  t.equal(stop.code, 0);
  clients.push(stop);
  const followed = await follower.exited;
  t.equal(followed.code, 0);

  const archives = fs.readdirSync(box.dir).filter((f) => /^trace-\d+\.bin\.gz$/.test(f));
  t.ok(archives.length >= 1, `the trace rotated into ${archives.length} archives`);
  const traceJson = await box.naught(['trace', '--json', 'trace.bin']);
  t.equal(traceJson.code, 0);
  const places: Record<string, string> = {
    'trace.bin': fs.readFileSync(box.path('trace.bin'), 'latin1') + fs.readFileSync(box.path('trace.bin'), 'utf8'),
    'the trace archives': archives.map((f) => zlib.gunzipSync(fs.readFileSync(box.path(f))).toString('utf8')).join(''),
    'trace --json': traceJson.stdout + (await Promise.all(archives.map((f) => box.naught(['trace', '--json', f])))).map((r) => r.stdout).join(''),
    'trace --follow': followed.stdout + followed.stderr,
    "the plugin's messages": readText(box.path('events.jsonl')),
    'naught.log': readText(box.path('naught.log')),
    "the clients' output": clients.map((run) => run.stdout + run.stderr).join(''),
  };
  for (const [place, text] of Object.entries(places)) {
    t.ok(text.length > 0, `${place} holds something`);
    t.notOk(text.includes(secret), `no deploy secret in ${place}`);
    t.notOk(text.includes(startSecret), `no start secret in ${place}`);
  }

  // The names are there, each value masked with a keyed hash that shows a change, not the value.
  const deploys = readText(box.path('events.jsonl')).split('\n').filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; env?: Record<string, string> | null })
    .filter((msg) => msg.type === 'cmd.deploy');
  t.equal(deploys.length, 3);
  const masked = deploys.map((msg) => msg.env!.SECRET_TOKEN!);
  for (const value of masked) t.match(value, MASKED);
  t.equal(new Set(masked).size, 1, 'the same value masks the same within one daemon');
  t.not(deploys[0]!.env!.SECRET_TOKEN, deploys[0]!.env!.GREETING, 'each name is keyed in: equal values under two names differ');
  const boots = traceJson.stdout.split('\n').filter((line) => line.includes('"cmd.boot"'));
  for (const line of boots) {
    const env = (JSON.parse(line) as { msg: { config: { env: Record<string, string> } } }).msg.config.env;
    for (const value of Object.values(env)) t.match(value, MASKED, 'cmd.boot, which carries the accumulated environment, is masked too');
  }
});

t.test('a changed value shows as changed', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--trace', 'trace.bin', fixture('hello-server.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  for (const value of ['one', 'one', 'two']) t.equal((await box.naught(['deploy'], { API_KEY: value })).code, 0);
  t.equal((await box.naught(['stop'])).code, 0);
  const run = await box.naught(['trace', '--json', '--type', 'cmd.deploy', 'trace.bin']);
  const keys = run.stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as { msg: { env: Record<string, string> } }).msg.env.API_KEY);
  t.equal(keys.length, 3);
  t.equal(keys[0], keys[1], 'unchanged');
  t.not(keys[1], keys[2], 'changed');
});

t.test('files naught keeps for itself are the owner\'s alone; worker logs keep the umask', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const recorder = `${repoRoot}/examples/plugins/events-to-file.mjs={"file":"events.jsonl"}`;
  // An older naught left a world-readable trace: it is made private too.
  fs.writeFileSync(box.path('trace.bin'), '');
  fs.chmodSync(box.path('trace.bin'), 0o644);
  const start = await box.naught(['start', '--trace', 'trace.bin', '--max-log-size', '2000', '--plugin', recorder, fixture('hello-server.cjs')], { PORT: String(port) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('the plugin to write', () => fs.existsSync(box.path('events.jsonl')));
  for (let i = 0; i < 2; i++) t.equal((await box.naught(['deploy'])).code, 0);
  t.equal((await box.naught(['stop'])).code, 0);
  const mode = (file: string) => fs.statSync(box.path(file)).mode & 0o777;
  const umasked = 0o666 & ~process.umask();
  t.equal(mode('trace.bin'), 0o600, 'trace.bin');
  const archives = fs.readdirSync(box.dir).filter((f) => /^trace-\d+\.bin\.gz$/.test(f));
  t.ok(archives.length > 0);
  for (const archive of archives) t.equal(mode(archive), 0o600, archive);
  t.equal(mode('events.jsonl'), 0o600, 'the example plugin\'s file');
  t.equal(mode('stdout.log'), umasked, 'stdout.log keeps the umask, as naught 1.6');
  t.equal(mode('naught.log'), umasked, 'naught.log keeps the umask, as naught 1.6');
});

t.test('the control socket is 0600 while the daemon runs', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', fixture('hello-server.cjs')], { PORT: String(port) });
  t.same(start, { code: 0, stdout: 'workers online: 1\n', stderr: lines(...bootLines(1)) });
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  const stats = fs.statSync(box.path('naught.ipc'));
  t.ok(stats.isSocket());
  t.equal(stats.mode & 0o777, 0o600);
});

t.test('a log path that is another user\'s symlink in a sticky world-writable folder is refused', { skip: process.getuid?.() !== 0 && 'needs root to give a link to another user' }, async (t) => {
  const box = new Sandbox(t);
  const shared = box.path('shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o1777);
  const victim = box.path('victim.txt');
  fs.symlinkSync(victim, `${shared}/stdout.log`);
  fs.lchownSync(`${shared}/stdout.log`, 65534, 65534);
  const refused = await box.naught(['start', '--stdout', 'shared/stdout.log', fixture('hello-server.cjs')]);
  t.same(refused, {
    code: 1, stdout: '',
    stderr: `unable to start daemon: refusing ${shared}/stdout.log: it is a symbolic link owned by another user, nobody (uid 65534), in ${shared}, a folder others may write\n`,
  });
  t.notOk(fs.existsSync(victim), 'the link was not followed');
  t.notOk(fs.existsSync(box.path('naught.pid')), 'nothing runs');

  // Our own link there is followed, as before; the folder's own files open as usual.
  fs.rmSync(`${shared}/stdout.log`);
  fs.symlinkSync(victim, `${shared}/stdout.log`);
  const port = await freePort();
  const start = await box.naught(['start', '--stdout', 'shared/stdout.log', '--stderr', 'shared/stderr.log', fixture('hello-server.cjs')], { PORT: String(port) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('the worker\'s line in the linked file', () => readText(victim).includes('listening on'));
  t.ok(fs.existsSync(`${shared}/stderr.log`));
});
