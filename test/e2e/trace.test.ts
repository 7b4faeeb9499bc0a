import t, { type Test } from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import { fixture } from '../helpers/paths.js';
import { bootLines, freePort, lines, readText, Sandbox, waitFor } from '../helpers/naught.js';
import { createBus } from '../../src/bus/bus.js';
import { encodeFrame } from '../../src/bus/codec.js';
import { createLink } from '../../src/bus/link.js';

const UTC = { TZ: 'UTC' };
const LINE = /^\d\d:\d\d:\d\d\.\d{3} {2}\S+ → [a-z.-]+( {2}.*)?$/;

async function tracing(t: Test, extra: string[] = []) {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', '--trace', 'trace.bin', ...extra, fixture('hello-server.cjs')], { PORT: String(port) });
  t.same(start, { code: 0, stdout: 'workers online: 2\n', stderr: lines(...bootLines(2)) });
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  return { box, port };
}

t.test('--trace records a deploy; `naught trace` tells it one line per message', async (t) => {
  const { box } = await tracing(t);
  t.equal((await box.naught(['deploy'])).code, 0);
  t.equal((await box.naught(['stop'])).code, 0);
  const run = await box.naught(['trace', 'trace.bin'], UTC);
  t.equal(run.code, 0);
  t.equal(run.stderr, '');
  const story = run.stdout.trimEnd().split('\n');
  for (const line of story) t.match(line, LINE);
  const deployAt = story.findIndex((line) => / cli:\d+ → cmd\.deploy {2}requestId=\S+ workerCount=0 env=\{\d+ keys\} cwd=\S+ timeoutMs=null$/.test(line));
  t.ok(deployAt > 0, 'the deploy command, from the CLI that sent it');
  const after = story.slice(deployAt).map((line) => line.replace(/^\S+ {2}/, '').replace(/ pid=\d+/, ' pid=N').replace(/workerId=\d+/, 'workerId=W'));
  const ready = 'master → pool.event  event=Ready waitingFor=null count.booting=0 count.online=2 count.dying=0 count.new_online=0';
  t.ok(after.includes(ready), 'the deploy ends Ready');
  t.ok(after.includes('master → worker.shutdown  workerId=W notify=true'), 'master-internal messages are in the story too');
  t.equal(story.at(-1)!.replace(/^\S+ {2}/, ''), 'daemon → pool.event  event=Shutdown waitingFor=null count.booting=0 count.online=0 count.dying=0 count.new_online=0');

  const json = await box.naught(['trace', '--json', 'trace.bin']);
  const envelopes = json.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { seq: number; time: number; sender: string; msg: { type: string } });
  t.equal(envelopes.length, story.length, '--json: the same messages, one JSON object each');
  t.ok(envelopes.every((e) => typeof e.seq === 'number' && typeof e.time === 'number' && typeof e.sender === 'string' && typeof e.msg.type === 'string'));
  const masterSeqs = envelopes.filter((e) => e.sender === 'master').map((e) => e.seq);
  t.same(masterSeqs, Array.from({ length: masterSeqs.length }, (_, i) => masterSeqs[0]! + i), 'nothing the master said is missing');

  const pool = await box.naught(['trace', '--type', 'pool.event,worker.online', 'trace.bin'], UTC);
  const poolTypes = new Set(pool.stdout.trimEnd().split('\n').map((line) => line.split(' ')[4]));
  t.same([...poolTypes].sort(), ['pool.event', 'worker.online']);

  const deploy = envelopes.find((e) => e.msg.type === 'cmd.deploy')!;
  const ready2 = [...envelopes].reverse().find((e) => e.msg.type === 'pool.event' && (e.msg as unknown as { event: string }).event === 'Ready')!;
  const window = await box.naught(['trace', '--json', '--since', String(deploy.time), '--until', new Date(ready2.time).toISOString(), 'trace.bin']);
  const inWindow = window.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { time: number });
  t.ok(inWindow.length > 5 && inWindow.every((e) => e.time >= deploy.time && e.time <= ready2.time), '--since/--until keep the deploy only');

  t.same(await box.naught(['trace', '--since', 'soon', 'trace.bin']), {
    code: 1, stdout: '', stderr: 'naught trace: --since soon: not a date, epoch milliseconds or HH:MM[:SS[.mmm]]\n',
  });
  const missing = await box.naught(['trace', 'nope.bin']);
  t.match(missing, { code: 1, stdout: '', stderr: /^naught trace: cannot read .*nope\.bin: ENOENT/ });
});

t.test('a cut or damaged trace prints up to the damage, then one error line, exit 1', async (t) => {
  const { box } = await tracing(t);
  t.equal((await box.naught(['stop'])).code, 0);
  const whole = fs.readFileSync(box.path('trace.bin'));
  const full = (await box.naught(['trace', 'trace.bin'], UTC)).stdout.split('\n').filter(Boolean);
  // Frame boundaries, from the length headers.
  const starts: number[] = [];
  for (let at = 0; at < whole.length; at += 4 + whole.readUInt32BE(at)) starts.push(at);
  t.equal(starts.length, full.length);

  const k = Math.floor(starts.length / 2);
  fs.writeFileSync(box.path('cut.bin'), whole.subarray(0, starts[k]! + 7));
  const cut = await box.naught(['trace', 'cut.bin'], UTC);
  t.same(cut, {
    code: 1, stdout: lines(...full.slice(0, k)),
    stderr: `naught trace: ${box.path('cut.bin')} is damaged at byte ${starts[k]}: the file ends in the middle of a frame (7 bytes of it)\n`,
  });

  const damaged = Buffer.from(whole);
  damaged.fill(0xc1, starts[k]! + 4, starts[k + 1]!);
  fs.writeFileSync(box.path('damaged.bin'), damaged);
  t.same(await box.naught(['trace', 'damaged.bin'], UTC), {
    code: 1, stdout: lines(...full.slice(0, k)),
    stderr: `naught trace: ${box.path('damaged.bin')} is damaged at byte ${starts[k]}: frame body is not valid msgpack\n`,
  });

  const huge = Buffer.from(whole);
  huge.writeUInt32BE(0x7fffffff, starts[k]!);
  fs.writeFileSync(box.path('huge.bin'), huge);
  t.match(await box.naught(['trace', 'huge.bin'], UTC), {
    code: 1, stdout: lines(...full.slice(0, k)), stderr: /is damaged at byte \d+: frame of 2147483647 bytes exceeds the limit of 1048576\n$/,
  });
});

t.test('a trace rotates by --max-log-size; every archive reads alone and nothing is lost', async (t) => {
  const { box } = await tracing(t, ['--max-log-size', '3000']);
  for (let i = 0; i < 3; i++) t.equal((await box.naught(['deploy'])).code, 0);
  t.equal((await box.naught(['stop'])).code, 0);
  const files = fs.readdirSync(box.dir).filter((f) => /^trace-\d{13,}\.bin\.gz$/.test(f)).sort();
  t.ok(files.length >= 2, `rotated into ${files.length} archives`);
  const seqs: number[] = [];
  for (const file of [...files, 'trace.bin']) {
    const run = await box.naught(['trace', '--json', '--type', 'pool.*', file]);
    t.equal(run.code, 0, `${file} reads alone`);
    for (const line of run.stdout.split('\n').filter(Boolean)) {
      const e = JSON.parse(line) as { seq: number; sender: string };
      if (e.sender === 'master') seqs.push(e.seq);
    }
  }
  t.ok(seqs.length > 30);
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'in order across files');
  t.equal(new Set(seqs).size, seqs.length, 'no message twice');
});

t.test('--max-log-files keeps only the newest trace archives too', async (t) => {
  const { box } = await tracing(t, ['--max-log-size', '3000', '--max-log-files', '2']);
  for (let i = 0; i < 4; i++) t.equal((await box.naught(['deploy'])).code, 0);
  t.equal((await box.naught(['stop'])).code, 0);
  const stamps = (prefix: string) => fs.readdirSync(box.dir).filter((f) => new RegExp(`^${prefix}-\\d{13,}\\.(bin|log)\\.gz$`).test(f));
  const archives = stamps('trace');
  t.equal(archives.length, 2, `two trace archives kept: ${archives.join(', ')}`);
  // What rotated away is gone; what is kept is the end of the story, read by naught trace.
  const last = await box.naught(['trace', '--type', 'pool.event', 'trace.bin'], UTC);
  t.equal(last.code, 0);
  t.match(last.stdout.trimEnd().split('\n').at(-1), /daemon → pool\.event {2}event=Shutdown /);
});

t.test('trace --follow: several followers see the story live and exit 0 when the daemon stops', async (t) => {
  const { box } = await tracing(t);
  const followers = [box.spawn(['trace', '--follow'], UTC), box.spawn(['trace', '--follow', '--type', 'pool.event'], UTC)];
  await waitFor('both followers to be attached', async () => {
    await box.naught(['status']);
    return followers[0]!.output().stdout.includes('cmd.status') && readText(box.path('naught.log')).split('Status.').length > 2;
  });
  t.equal((await box.naught(['deploy'])).code, 0);
  await waitFor('the deploy to reach the followers', () => followers.every((f) => f.output().stdout.includes('event=Ready waitingFor=null count.booting=0 count.online=2')));
  t.equal((await box.naught(['stop'])).code, 0);
  const [all, pool] = await Promise.all(followers.map((f) => f.exited));
  t.equal(all!.code, 0);
  t.equal(pool!.code, 0);
  t.match(all!.stdout, / cli:\d+ → cmd\.deploy /);
  t.ok(pool!.stdout.split('\n').filter(Boolean).every((line) => line.includes(' → pool.event ')));
  t.match(all!.stdout.trimEnd().split('\n').at(-1), /daemon → pool\.event {2}event=Shutdown /);
  t.same(await box.naught(['trace', '--follow']), { code: 1, stdout: '', stderr: 'server not running\n' });
});

t.test('a follower that stops reading is dropped with a notice; the daemon keeps serving', async (t) => {
  const { box, port } = await tracing(t);
  // A follower that says hello, then never reads.
  const stalled = net.connect(box.path('naught.ipc'));
  t.teardown(() => stalled.destroy());
  stalled.write(encodeFrame({ seq: 0, time: 0, sender: 'stalled', msg: { type: 'link.hello', name: 'trace:stalled', wants: ['*'] } }));
  stalled.pause();
  // A busy client: status requests until the daemon has given up on the follower.
  const bus = createBus('busy');
  const socket = net.connect(box.path('naught.ipc'));
  t.teardown(() => socket.destroy());
  const link = createLink(bus, socket, { name: 'busy', wants: ['pool.reply'] });
  let replies = 0;
  bus.on('pool.reply', () => { replies++; });
  const dropped = () => /Dropped a control connection: peer trace:stalled stopped reading/.test(readText(box.path('naught.log')));
  for (let round = 0; round < 400 && !dropped(); round++) {
    const want = replies + 200;
    for (let i = 0; i < 200; i++) bus.publish({ type: 'cmd.status', requestId: `s${round}-${i}` });
    await waitFor('status replies', () => replies >= want);
  }
  t.ok(dropped(), 'naught.log says the follower was dropped');
  t.equal(readText(box.path('naught.log')).split('Dropped a control connection').length, 2, 'once');
  link.close();
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 2\n', stderr: '' });
  t.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);
});

t.test('an unwritable --trace path fails the start with its reason', async (t) => {
  const box = new Sandbox(t);
  fs.writeFileSync(box.path('file'), '');
  const run = await box.naught(['start', '--trace', 'file/trace.bin', fixture('hello-server.cjs')]);
  t.match(run, { code: 1, stdout: '', stderr: /^unable to start daemon: ENOTDIR: not a directory, open '.*\/file\/trace\.bin'\n$/ });
  // naught creates no folder for the trace or a log: a missing one is named.
  t.same(await box.naught(['start', '--trace', 'missing/trace.bin', fixture('hello-server.cjs')]),
    { code: 1, stdout: '', stderr: `unable to start daemon: the folder ${box.path('missing')} of ${box.path('missing/trace.bin')} does not exist\n` });
  t.notOk(fs.existsSync(box.path('naught.pid')));
});
