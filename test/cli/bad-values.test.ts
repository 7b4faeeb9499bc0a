// Every numeric or size option of every command, given an empty value, a negative one, a
// non-number, a number with trailing garbage, a float where a whole number is due, and a
// huge one: refused before anything starts, with naught 1.6's help and a line that names
// the option, the value and what is accepted; exit 1.
import t from 'tap';
import { fixture } from '../helpers/paths.js';
import { Sandbox } from '../helpers/naught.js';

type Kind = 'whole' | 'seconds' | 'size';
const OPTIONS: { command: string; option: string; kind: Kind; accepted: RegExp }[] = [
  { command: 'start', option: '--worker-count', kind: 'whole', accepted: /^(auto, or a whole number from 1 to \d+|at most \d+ workers here \(8 per CPU\); --worker-count-limit \d+ allows more)$/ },
  { command: 'start', option: '--worker-count-limit', kind: 'whole', accepted: /^a whole number from 1 to 9007199254740991$/ },
  { command: 'start', option: '--max-log-size', kind: 'size', accepted: /^a size in bytes from 1, or with K, M or G \(512K, 10M, 1G\)$/ },
  { command: 'start', option: '--max-log-files', kind: 'whole', accepted: /^a whole number from 0 to 9007199254740991$/ },
  { command: 'start', option: '--timeout', kind: 'seconds', accepted: /^none, or seconds from 0\.001 to 2147483 \(fractions allowed\)$/ },
  { command: 'start', option: '--drain-recent-ms', kind: 'whole', accepted: /^a whole number from 0 to 2147483647$/ },
  { command: 'start', option: '--worker-timeout', kind: 'seconds', accepted: /^none, or seconds from 1 to 2147483 \(fractions allowed\)$/ },
  { command: 'start', option: '--max-worker-memory', kind: 'size', accepted: /^a size in bytes from 1, or with K, M or G \(512K, 10M, 1G\)$/ },
  { command: 'stop', option: '--timeout', kind: 'seconds', accepted: /^none, or seconds from 0\.001 to 2147483 \(fractions allowed\)$/ },
  { command: 'deploy', option: '--worker-count', kind: 'whole', accepted: /^(auto, or a whole number from 0 to \d+|at most \d+ workers here \(8 per CPU\); --worker-count-limit \d+ allows more)$/ },
  { command: 'deploy', option: '--worker-count-limit', kind: 'whole', accepted: /^a whole number from 1 to 9007199254740991$/ },
  { command: 'deploy', option: '--timeout', kind: 'seconds', accepted: /^none, or seconds from 0\.001 to 2147483 \(fractions allowed\)$/ },
  { command: 'deploy', option: '--probation', kind: 'seconds', accepted: /^none, or seconds from 0\.001 to 2147483 \(fractions allowed\)$/ },
  { command: 'deploy', option: '--batch-size', kind: 'whole', accepted: /^none, or a whole number from 1$/ },
  { command: 'rollback', option: '--to', kind: 'whole', accepted: /^a whole number from 1 to 9007199254740991$/ },
  { command: 'logs', option: '--lines', kind: 'whole', accepted: /^a whole number from 0 to 1000000$/ },
];

const BAD: Record<Kind, string[]> = {
  whole: ['', '-5', 'abc', '10abc', '1.5', '1e5', '99999999999999999999'],
  seconds: ['', '-5', '-1', 'abc', '10abc', '1e5', '99999999999999999999'],
  size: ['', '-5', 'abc', '10abc', '1.5', '99999999999999999999G'],
};

t.test('every bad value of every numeric option is refused with a line naming it', async (t) => {
  const box = new Sandbox(t);
  const help = new Map<string, string>();
  for (const command of new Set(OPTIONS.map((o) => o.command))) help.set(command, (await box.naught(['help', command])).stdout);
  const cases = OPTIONS.flatMap(({ command, option, kind, accepted }) => BAD[kind].map((value) => ({ command, option, value, accepted })));
  // A few at a time: each is a whole naught process.
  for (let i = 0; i < cases.length; i += 6) {
    await Promise.all(cases.slice(i, i + 6).map(async ({ command, option, value, accepted }) => {
      const args = [command, `${option}=${value}`, ...(command === 'start' ? [fixture('hello-server.cjs')] : [])];
      const run = await box.naught(args);
      const [said, ...more] = run.stderr.slice(help.get(command)!.length).split('\n').filter(Boolean);
      const prefix = `naught ${command}: ${option} ${JSON.stringify(value)} is not accepted: `;
      t.ok(run.code === 1 && run.stdout === '' && run.stderr.startsWith(help.get(command)!) && more.length === 0
        && said?.startsWith(prefix) && accepted.test(said.slice(prefix.length)), `${command} ${option}=${JSON.stringify(value)}: ${said}`);
    }));
  }
  t.notOk(box.daemonPid(), 'nothing started');
});

t.test('--worker-count past 8 per CPU needs --worker-count-limit; with it the count is taken', async (t) => {
  const box = new Sandbox(t);
  const refused = await box.naught(['start', '--worker-count', '100000', fixture('hello-server.cjs')]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /\nnaught start: --worker-count "100000" is not accepted: at most \d+ workers here \(8 per CPU\); --worker-count-limit 100000 allows more\n$/);
  // Accepted, it goes on to look for the daemon.
  const deploy = await box.naught(['deploy', '--worker-count-limit', '100000', '--worker-count', '100000']);
  t.same([deploy.stdout, deploy.stderr], ['', 'server not running\n']);
});

t.test('values as naught 1.6 took them still work: seconds with fractions, none, auto', async (t) => {
  const box = new Sandbox(t);
  for (const args of [['stop', '--timeout', '0.5'], ['stop', '--timeout', 'none'], ['deploy', '--worker-count', 'auto'], ['deploy', '--timeout', '2.25']]) {
    const run = await box.naught(args);
    t.same([run.stdout, run.stderr], ['', 'server not running\n'], `${args.join(' ')}: taken, then no daemon is found`);
  }
});
