// `naught logs`: the tail in naught's order, --follow across a rotation and a reopen, a
// follower too slow for a flood (told what it missed, nothing lost on disk), and the files
// when no daemon runs.
import t, { type Test as TapTest } from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { encodeFrame } from '../../src/bus/codec.js';
import type { Message } from '../../src/bus/messages.js';
import { fixture } from '../helpers/paths.js';
import { freePort, lines, readText, Sandbox, waitFor } from '../helpers/naught.js';

/** Has the worker write one line (or `many/N` lines) to a stream; resolves once it is in the pipe. */
function say(port: number, stream: 'stdout' | 'stderr', text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/${stream}/${encodeURIComponent(text)}`, agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}

async function startSaying(box: Sandbox, t: TapTest, extra: string[] = []): Promise<number> {
  const port = await freePort();
  const run = await box.naught(['start', ...extra, fixture('says-on-request.cjs')], { PORT: String(port) });
  t.equal(run.code, 0, 'started');
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  return port;
}

/** Lines written one after another, each on disk before the next is asked for, so their order is certain. */
async function sayInTurn(box: Sandbox, port: number, said: [stream: 'stdout' | 'stderr', text: string][]): Promise<void> {
  for (const [stream, text] of said) {
    await say(port, stream, text);
    await waitFor(`"${text}" in ${stream}.log`, () => readText(box.path(`${stream}.log`)).includes(`${text}\n`));
  }
}

t.test('the tail: stdout and stderr interleaved in the order naught wrote them, tagged; one stream untagged', async (t) => {
  const box = new Sandbox(t);
  const port = await startSaying(box, t, ['--trace', 'trace.bin']);
  await sayInTurn(box, port, [['stdout', 'a1'], ['stderr', 'b1'], ['stdout', 'a2'], ['stderr', 'b2'], ['stderr', 'b3'], ['stdout', 'a3']]);
  t.same(await box.naught(['logs', '--lines', '5']), {
    code: 0, stderr: '',
    stdout: lines('stderr | b1', 'stdout | a2', 'stderr | b2', 'stderr | b3', 'stdout | a3'),
  });
  t.same(await box.naught(['logs', '-n', '2', '--stderr']), { code: 0, stderr: '', stdout: lines('b2', 'b3') }, 'stderr alone, as its file holds it');
  t.same(await box.naught(['logs', '-n', '10', '--stdout']), { code: 0, stderr: '', stdout: lines('a1', 'a2', 'a3') });
  t.same(await box.naught(['logs', '-n', '0']), { code: 0, stderr: '', stdout: '' });

  await say(port, 'stdout', 'many/70');
  await waitFor('70 lines', () => readText(box.path('stdout.log')).includes('line 70\n'));
  const defaults = await box.naught(['logs']);
  t.same(defaults, { code: 0, stderr: '', stdout: lines(...Array.from({ length: 50 }, (_, i) => `stdout | line ${i + 21}`)) }, '50 lines by default');

  const trace = await box.naught(['trace', '--type', 'cmd.logs,logs.*', 'trace.bin']);
  t.match(trace.stdout, /cmd\.logs .*lines=5 streams=\["stdout","stderr"\] follow=false/, 'the request is traced');
  t.match(trace.stdout, /logs\.tailed .*files\.stdout=\S+stdout\.log .*following=false/);
  t.notMatch(trace.stdout, 'logs.lines', 'the output itself is not');
  t.notMatch(fs.readFileSync(box.path('trace.bin')).toString('latin1'), 'line 33', 'nor any line of it');
});

t.test('a stream that goes to no file is said so', async (t) => {
  const box = new Sandbox(t);
  const port = await startSaying(box, t, ['--stderr', '/dev/null']);
  await sayInTurn(box, port, [['stdout', 'kept']]);
  await say(port, 'stderr', 'gone');
  t.same(await box.naught(['logs']), {
    code: 0, stdout: lines('stdout | kept'),
    stderr: "naught logs: the workers' stderr goes to no log file (started with --stderr - or /dev/null)\n",
  });
});

t.test('--follow: every line once, in order, across a rotation and a reopen-logs, until the daemon stops', async (t) => {
  const box = new Sandbox(t);
  const port = await startSaying(box, t, ['--max-log-size', '100']);
  await sayInTurn(box, port, [['stdout', 'before']]);
  const follower = box.spawn(['logs', '-f', '-n', '1']);
  await waitFor('the tail', () => follower.output().stdout.includes('before'));
  const said: string[] = [];
  for (let i = 1; i <= 40; i++) {
    const stream = i % 4 === 0 ? 'stderr' : 'stdout';
    await say(port, stream, `follow ${i}`);
    said.push(`${stream} | follow ${i}`);
    await waitFor(`follow ${i} followed`, () => follower.output().stdout.includes(`follow ${i}\n`));
    if (i === 20) {
      fs.renameSync(box.path('stdout.log'), box.path('moved.log'));
      t.equal((await box.naught(['reopen-logs'])).code, 0, 'reopened');
    }
  }
  t.ok(fs.readdirSync(box.dir).some((name) => /^stdout-.*\.log(\.gz)?$/.test(name)), 'stdout.log was rotated meanwhile');
  t.match(readText(box.path('moved.log')), 'follow 19\n', 'and moved away');
  t.equal((await box.naught(['stop'])).code, 0);
  const run = await follower.exited;
  t.same(run, { code: 0, stderr: '', stdout: lines('stdout | before', ...said) });
});

t.test('a follower too slow for a flood: the workers finish, every line is on disk, and it is told what it missed', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  t.equal((await box.naught(['start', '--max-log-size', String(1 << 30), fixture('floods.cjs')], { PORT: String(port), MEGABYTES: '0' })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('the first worker', () => readText(box.path('stdout.log')).includes('done 0\n'));
  const follower = box.spawn(['logs', '-f', '-n', '1', '--stdout']);
  await waitFor('the tail, so the follower is in', () => follower.output().stdout.includes('done 0\n'));
  follower.stdout!.pause(); // it reads nothing more: its writes block once its pipe is full
  const deployed = await box.naught(['deploy'], { MEGABYTES: '20' });
  t.equal(deployed.code, 0);
  const done = await waitFor('the flood to finish, with the follower still stalled', () => /w\d+ done (\d+)\n$/.exec(tailOf(box.path('stdout.log'))), 60_000);
  const total = Number(done[1]) + 1; // numbered lines and the `done` line
  const onDisk = fs.readFileSync(box.path('stdout.log'), 'utf8').split('\n').filter((l) => /^w\d+ /.test(l) && !l.includes(' done '));
  const tag = done[0].split(' ')[0]!;
  const numbers = onDisk.filter((l) => l.startsWith(`${tag} `)).map((l) => Number(l.split(' ')[1]));
  t.equal(numbers.length, total - 1, 'every flooded line is on disk');
  t.ok(numbers.every((n, i) => n === i), 'once each, in order');

  follower.stdout!.resume();
  t.equal((await box.naught(['stop'])).code, 0);
  const run = await follower.exited;
  t.equal(run.code, 0);
  const missed = [...run.stderr.matchAll(/^naught logs: (\d+) lines not shown here: this reader fell behind \(the log files have them\)$/gm)].map((m) => Number(m[1]));
  t.ok(missed.length > 0, 'told it missed lines');
  t.equal(run.stderr.replace(/^naught logs: \d+ lines not shown here: this reader fell behind \(the log files have them\)\n/gm, ''), '', 'and nothing else');
  // The first line is the tail that was asked for.
  const shown = run.stdout.split('\n').slice(1).filter((l) => l.startsWith(`${tag} `)).length;
  t.equal(shown + missed.reduce((a, b) => a + b, 0), total, 'every line was either shown or counted as missed');
});

t.test('malformed log requests are answered as well as they can be, and the daemon carries on', async (t) => {
  const box = new Sandbox(t);
  const port = await startSaying(box, t);
  await sayInTurn(box, port, [['stdout', 'one'], ['stderr', 'two']]);
  const socket = net.connect(box.path('naught.ipc'));
  t.teardown(() => socket.destroy());
  let got = '';
  socket.on('data', (d: Buffer) => { got += d.toString('latin1'); });
  const frame = (msg: unknown) => encodeFrame({ seq: 1, time: 0, sender: 'odd', msg: msg as Message });
  socket.write(frame({ type: 'link.hello', name: 'odd', wants: ['logs.tailed'] }));
  const odd = [
    { lines: 'x', streams: ['stdout'] }, { lines: -5, streams: 'stdout' }, { lines: 1e300, streams: null },
    { lines: 2, streams: ['nonsense'] }, { lines: 2, streams: [7, {}], follow: 'yes' },
  ];
  odd.forEach((fields, i) => socket.write(frame({ type: 'cmd.logs', requestId: `odd-${i}`, ...fields })));
  await waitFor('an answer to each', () => odd.every((_, i) => got.includes(`odd-${i}`)));
  t.match(got, 'two\n', 'a request for no known stream gets both');
  t.same(await box.naught(['status']), { code: 0, stdout: 'workers online: 1\n', stderr: '' }, 'the daemon is up');
  t.same(await box.naught(['logs', '-n', '1']), { code: 0, stdout: 'stderr | two\n', stderr: '' });
});

/** The end of a big file, without reading it all. */
function tailOf(file: string): string {
  let fd: number;
  try { fd = fs.openSync(file, 'r'); } catch { return ''; }
  try {
    const size = fs.fstatSync(fd).size;
    const part = Buffer.alloc(Math.min(size, 4096));
    fs.readSync(fd, part, 0, part.length, size - part.length);
    return part.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

t.test('without a daemon: the files, stdout then stderr, and a note that says so', async (t) => {
  const box = new Sandbox(t);
  fs.writeFileSync(box.path('stdout.log'), 'o1\no2\no3\n');
  fs.writeFileSync(box.path('stderr.log'), 'e1\ne2\n');
  const note = `naught logs: no daemon answers at naught.ipc; the last lines of ${box.path('stdout.log')}, then of ${box.path('stderr.log')} (which came first between the two is not known)\n`;
  t.same(await box.naught(['logs', '-n', '2']), { code: 0, stdout: lines('stdout | o2', 'stdout | o3', 'stderr | e1', 'stderr | e2'), stderr: note });
  t.same(await box.naught(['logs', '--stderr']), {
    code: 0, stdout: lines('e1', 'e2'), stderr: `naught logs: no daemon answers at naught.ipc; the last lines of ${box.path('stderr.log')}\n`,
  });
  t.same(await box.naught(['logs', '-f']), {
    code: 1, stdout: lines('stdout | o1', 'stdout | o2', 'stdout | o3', 'stderr | e1', 'stderr | e2'),
    stderr: note + 'naught logs: nothing to follow: no daemon answers at naught.ipc\n',
  });

  fs.mkdirSync(box.path('app'));
  const big = Array.from({ length: 30_000 }, (_, i) => `row ${i}`).join('\n') + '\n';
  fs.writeFileSync(box.path('app/out.log'), big);
  const given = await box.naught(['logs', '--stdout', '--stdout-file', 'app/out.log', '-n', '3', 'other.ipc']);
  t.same(given, {
    code: 0, stdout: lines('row 29997', 'row 29998', 'row 29999'),
    stderr: `naught logs: no daemon answers at other.ipc; the last lines of ${box.path('app/out.log')}\n`,
  }, 'a given path, read back from its end');
  t.same((await box.naught(['logs', '--stdout-file', 'app/out.log', '-n', '40000'])).stdout.split('\n').length, 30_000 + 2 + 1, 'more lines than the file has: all of it');

  fs.rmSync(box.path('stdout.log'));
  fs.rmSync(box.path('stderr.log'));
  const none = await box.naught(['logs']);
  t.same(none, {
    code: 1, stdout: '',
    stderr: note + `naught logs: neither ${box.path('stdout.log')} nor ${box.path('stderr.log')} exists\n`,
  });
});

t.test("a bad --lines prints logs' help, then a line naming the value, and exits 1", async (t) => {
  const box = new Sandbox(t);
  const help = await box.naught(['help', 'logs']);
  t.match(help.stdout, /^naught logs \[options\] \[ipc-file\]\n/);
  const cases: [string[], string][] = [
    [['--lines', 'x'], 'naught logs: --lines "x" is not accepted: a whole number from 0 to 1000000\n'],
    [['-n', '-3'], 'naught logs: --lines "-3" is not accepted: a whole number from 0 to 1000000\n'],
    [['--lines'], ''],
  ];
  for (const [bad, line] of cases) {
    t.same(await box.naught(['logs', ...bad]), { code: 1, stdout: '', stderr: help.stdout + line }, bad.join(' '));
  }
});
