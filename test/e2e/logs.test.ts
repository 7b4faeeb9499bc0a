import t from 'tap';
import fs from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { archives, wholeLog } from '../helpers/logs.js';
import { descendants, freePort, isAlive, Sandbox, waitFor } from '../helpers/naught.js';

const LINES = 3000;

t.test('logs rotate by size into gzipped archives named as naught did, losing and repeating no line', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--worker-count', '2', '--max-log-size', '50000', fixture('logs-lines.cjs')], { PORT: String(port), LINES: String(LINES) });
  t.equal(start.code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));

  const complete = (file: string, kind: string) => {
    try {
      const { text } = wholeLog(box.dir, file);
      return text.split('\n').filter((l) => l.startsWith('w1 ') && l.includes(` ${kind} ${LINES - 1}`)).length > 0
        && text.split('\n').filter((l) => l.startsWith('w0 ') && l.includes(` ${kind} ${LINES - 1}`)).length > 0 ? text : null;
    } catch {
      return null; // an archive still being compressed
    }
  };
  const stdout = await waitFor('every stdout line', () => complete('stdout.log', 'out'));
  const stderr = await waitFor('every stderr line', () => complete('stderr.log', 'err'));

  for (const [name, text, kind] of [['stdout', stdout, 'out'], ['stderr', stderr, 'err']] as const) {
    const lines = text.split('\n').filter(Boolean);
    for (const worker of ['w0', 'w1']) {
      const numbers = lines.filter((l) => l.startsWith(`${worker} ${kind} `)).map((l) => Number(l.split(' ')[2]));
      t.same(numbers, Array.from({ length: LINES }, (_, i) => i), `${name}: every line of ${worker} once, in order`);
    }
    t.ok(lines.every((l) => /^(w[01] (out \d+ x{40}|err \d+)|worker \d listening on \d+)$/.test(l)), `${name}: no torn or mixed line`);
  }
  const list = archives(box.dir, 'stdout', '.log');
  // A rotation lands between writes, and one write carries whatever the pipes held: how many
  // archives 300 kB make depends on batching, so only ask for more than one.
  t.ok(list.length >= 2, `stdout rotated into ${list.length} archives`);
  t.ok(list.every((a) => a.text.endsWith('\n')), 'every archive ends with a whole line');
  t.notOk(fs.readdirSync(box.dir).some((f) => /^stdout-\d+\.log$/.test(f)), 'no uncompressed archive is left');
  const events = fs.readFileSync(box.path('naught.log'), 'utf8');
  t.match(events, /^Bootup\./, 'naught.log is not rotated by worker output');
});

t.test('archives are compressed by a child of the daemon at a lower priority, which stop waits for', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  const start = await box.naught(['start', '--max-log-size', '50000', fixture('logs-lines.cjs')], { PORT: String(port), LINES: String(LINES) });
  t.equal(start.code, 0);
  let stopped = false;
  t.teardown(() => (stopped ? undefined : box.naught(['stop', '--timeout', '1'])));
  const daemon = Number(fs.readFileSync(box.path('naught.pid'), 'utf8'));
  // It stays a few seconds after its last archive, so that a flood does not start one per file.
  const compressor = await waitFor('the compressor process', () => descendants(daemon).find((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('compressor.js');
    } catch {
      return false;
    }
  }));
  // Every thread's: on Linux a priority is per thread, and zlib runs in Node's thread pool.
  const niceness = () => fs.readdirSync(`/proc/${compressor}/task`).map((thread) => {
    const stat = fs.readFileSync(`/proc/${compressor}/task/${thread}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
  // It lowers its priority first thing, once Node has started.
  await waitFor('niceness 19', () => niceness().every((n) => n === 19) || null, 5000).catch(() => {});
  t.same(niceness().filter((n) => n !== 19), [], 'every thread of it runs at niceness 19');
  // By name only: an archive being written does not read yet.
  await waitFor('an archive', () => fs.readdirSync(box.dir).some((f) => /^stdout-\d+\.log\.gz$/.test(f)) || null);
  const stop = await box.naught(['stop']);
  stopped = true;
  t.equal(stop.code, 0);
  t.notOk(isAlive(compressor), 'stop leaves no compressor behind');
  t.notOk(fs.readdirSync(box.dir).some((f) => /^stdout-\d+\.log$/.test(f)), 'and no uncompressed archive');
});
