import t from 'tap';
import fs from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { archives, wholeLog } from '../helpers/logs.js';
import { freePort, Sandbox, waitFor } from '../helpers/naught.js';

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
  t.ok(list.length >= 3, `stdout rotated into ${list.length} archives`);
  t.ok(list.every((a) => a.text.endsWith('\n')), 'every archive ends with a whole line');
  t.notOk(fs.readdirSync(box.dir).some((f) => /^stdout-\d+\.log$/.test(f)), 'no uncompressed archive is left');
  const events = fs.readFileSync(box.path('naught.log'), 'utf8');
  t.match(events, /^Bootup\./, 'naught.log is not rotated by worker output');
});
